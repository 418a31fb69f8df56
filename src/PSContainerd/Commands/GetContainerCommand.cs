using System.Management.Automation;

namespace PSContainerd.Commands;

/// <summary>
/// <para type="synopsis">Lists containers, or inspects the ones named.</para>
/// <para type="description">
/// Writes a ContainerInfo per container: containerd's record, its task (status, pid) and the state
/// the module recorded in labels (exit code, restart policy, stop settings). Without -Id every
/// container in the namespace is listed. An -Id with wildcards lists the matching containers
/// (case-insensitive, no error when none match); an -Id without wildcards must name one container,
/// exactly or by a unique prefix, else ContainerNotFound or AmbiguousContainerId is written.
/// </para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "Container")]
[OutputType(typeof(ContainerInfo))]
public sealed class GetContainerCommand : ContainerdCmdlet
{
    /// <summary>Container ids, unique id prefixes, or wildcard patterns. Default: all containers.</summary>
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[]? Id { get; set; }

    protected override void ProcessRecord() => Pump(WriteContainersAsync);

    private async Task WriteContainersAsync(CancellationToken ct)
    {
        if (Id is null)
        {
            await ListMatchingAsync(null, ct).ConfigureAwait(false);
            return;
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var raw in Id)
        {
            if (WildcardPattern.ContainsWildcardCharacters(raw))
            {
                if (!await ListMatchingAsync(WildcardPattern.Get(raw, WildcardOptions.IgnoreCase), ct, seen, raw).ConfigureAwait(false))
                {
                    return; // containerd is unreachable: every other id would say the same.
                }

                continue;
            }

            await OneAsync(raw, async (id, c) =>
            {
                var info = await Engine.GetInfoAsync(id, c).ConfigureAwait(false);
                if (seen.Add(info.Id))
                {
                    Emit(info);
                }
            }, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Writes every container matching <paramref name="pattern"/> (all when null); false when listing failed.</summary>
    private async Task<bool> ListMatchingAsync(WildcardPattern? pattern, CancellationToken ct, HashSet<string>? seen = null, string? target = null)
    {
        IReadOnlyList<ContainerInfo> all;
        try
        {
            all = await Engine.ListAsync(ct).ConfigureAwait(false);
        }
        catch (Exception e) when (ErrorRecords.TryFrom(e, target ?? Namespace, out var record))
        {
            EmitError(record);
            return false;
        }

        foreach (var info in all)
        {
            if ((pattern is null || pattern.IsMatch(info.Id)) && (seen is null || seen.Add(info.Id)))
            {
                Emit(info);
            }
        }

        return true;
    }
}
