using System.Management.Automation;
using PSContainerd.Engine;

namespace PSContainerd.Commands;

/// <summary>Tab for -Id: the ids of the containers at the -Address/-Namespace given, starting with what was typed; the status is the tooltip.</summary>
public sealed class ContainerIdCompleter : ConnectionCompleter
{
    protected override async Task<IReadOnlyList<CompletionResult>> CompleteAsync(string address, string @namespace, string word, CancellationToken ct)
    {
        var containers = await ContainerEngine.For(address, @namespace).ListAsync(ct).ConfigureAwait(false);
        return containers
            .Where(c => c.Id.StartsWith(word, StringComparison.OrdinalIgnoreCase))
            .Select(c => new CompletionResult(Quote(c.Id), c.Id, CompletionResultType.ParameterValue, $"{c.Id}: {c.Status}"))
            .ToList();
    }
}
