using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using PSContainerd.Engine;

namespace PSContainerd.Commands;

/// <summary>Tab for -Signal and -StopSignal: the signal names (SIGTERM, ...), matched with or without SIG; the number is the tooltip.</summary>
public sealed class SignalCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        string word = (wordToComplete ?? string.Empty).Trim('\'', '"');
        for (int n = 1; n <= Signals.Max; n++)
        {
            string name = Signals.Name(n);
            if (name.StartsWith("SIG", StringComparison.Ordinal)
                && (name.StartsWith(word, StringComparison.OrdinalIgnoreCase) || name[3..].StartsWith(word, StringComparison.OrdinalIgnoreCase)))
            {
                yield return new CompletionResult(name, name, CompletionResultType.ParameterValue, $"{name} ({n})");
            }
        }
    }
}
