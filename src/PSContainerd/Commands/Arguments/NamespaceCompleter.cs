using System.Management.Automation;
using PSContainerd.Containerd;

namespace PSContainerd.Commands;

/// <summary>Tab for -Namespace: the namespaces containerd at -Address has, starting with what was typed.</summary>
public sealed class NamespaceCompleter : ConnectionCompleter
{
    protected override async Task<IReadOnlyList<CompletionResult>> CompleteAsync(string address, string @namespace, string word, CancellationToken ct)
    {
        var names = await ContainerdNamespaces.ListAsync(address, Bound, ct).ConfigureAwait(false);
        return names
            .Where(n => n.StartsWith(word, StringComparison.OrdinalIgnoreCase))
            .Select(n => new CompletionResult(Quote(n), n, CompletionResultType.ParameterValue, n))
            .ToList();
    }
}
