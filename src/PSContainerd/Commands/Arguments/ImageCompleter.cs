using System.Management.Automation;
using PSContainerd.Engine;

namespace PSContainerd.Commands;

/// <summary>Tab for -Image: the names of the images in containerd's store at the -Address/-Namespace given, containing what was typed.</summary>
public sealed class ImageCompleter : ConnectionCompleter
{
    protected override async Task<IReadOnlyList<CompletionResult>> CompleteAsync(string address, string @namespace, string word, CancellationToken ct)
    {
        var names = await ContainerEngine.For(address, @namespace).ListImageNamesAsync(ct).ConfigureAwait(false);
        // Contains, not StartsWith: stored names are full (docker.io/library/busybox:latest) and
        // people type the short one (busybox).
        return names
            .Where(n => n.Contains(word, StringComparison.OrdinalIgnoreCase))
            .Select(n => new CompletionResult(Quote(n), n, CompletionResultType.ParameterValue, n))
            .ToList();
    }
}
