using System.Management.Automation;

namespace PSContainerd.Commands;

/// <summary>
/// <para type="synopsis">Lists containers, or inspects the ones named.</para>
/// <para type="description">
/// Writes a ContainerInfo per container: containerd's record, its task (status, pid) and the state
/// the module recorded in labels (exit code, restart policy, stop settings). Without -Id every
/// container in the namespace is listed. An -Id with wildcards lists the matching containers
/// (case-insensitive, no error when none match, as Get-Process); an -Id without wildcards must
/// name one container, exactly (names are never prefix-matched) or by a unique prefix of a 64-hex
/// id, else ContainerNotFound or AmbiguousContainerId is written.
/// </para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "Container", HelpUri = HelpUris.Base + "Get-Container.md")]
[OutputType(typeof(ContainerInfo))]
public sealed class GetContainerCommand : PerContainerCmdlet
{
    /// <summary>Container ids, PowerShell wildcards, or unique prefixes of 64-hex ids. Default: all containers.</summary>
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [Alias("ContainerId")]
    [ArgumentCompleter(typeof(ContainerIdCompleter))]
    public string[]? Id { get; set; }

    protected override IReadOnlyList<string>? RequestedIds => Id;

    protected override string? ShouldProcessAction => null;

    protected override bool EmptyPatternIsError => false;

    protected override bool ActPerItem => true;

    protected override async Task ActAsync(ContainerTarget target, IOutputSink sink, CancellationToken ct) =>
        sink.Output(await target.Engine.GetInfoAsync(target.Id, ct).ConfigureAwait(false));

    /// <summary>One container is inspected; several are read with one listing per namespace, in id order.</summary>
    protected override void Run(IReadOnlyList<ContainerTarget> targets)
    {
        if (targets.Count == 1)
        {
            base.Run(targets);
            return;
        }

        Pump(async ct =>
        {
            foreach (var group in targets.GroupBy(t => t.Engine))
            {
                try
                {
                    var wanted = group.Select(t => t.Id).ToHashSet(StringComparer.Ordinal);
                    foreach (var info in await group.Key.ListAsync(ct).ConfigureAwait(false))
                    {
                        if (wanted.Contains(info.Id))
                        {
                            Out.Output(info);
                        }
                    }
                }
                catch (Exception e) when (ErrorRecords.TryFrom(e, group.Key.Address, out var record))
                {
                    Out.Error(record);
                }
            }
        });
    }
}
