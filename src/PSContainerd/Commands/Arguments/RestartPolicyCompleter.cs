using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace PSContainerd.Commands;

/// <summary>Tab completion for -RestartPolicy: docker's policy names.</summary>
public sealed class RestartPolicyCompleter : IArgumentCompleter
{
    private static readonly string[] Policies = { "no", "always", "unless-stopped", "on-failure", "on-failure:3" };

    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters) =>
        Policies.Where(p => p.StartsWith(wordToComplete ?? string.Empty, StringComparison.OrdinalIgnoreCase))
            .Select(p => new CompletionResult(p, p, CompletionResultType.ParameterValue, p));
}
