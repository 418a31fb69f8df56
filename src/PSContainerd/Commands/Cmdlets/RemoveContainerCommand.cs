using System.Management.Automation;

namespace PSContainerd.Commands;

/// <summary>
/// <para type="synopsis">Deletes containers: their exited task, then the container record.</para>
/// <para type="description">
/// -Force means what it means on every state-changing cmdlet of the module: override the
/// cmdlet's refusals. Remove-Container has two: a container whose task is running or paused
/// (InvalidContainerState; with -Force it is killed first, SIGKILL waited for, as docker rm -f)
/// and a namespace another manager owns (ForeignNamespace). A pending restart is cancelled.
/// Writes nothing.
/// </para>
/// </summary>
[Cmdlet(VerbsCommon.Remove, "Container", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, HelpUri = HelpUris.Base + "Remove-Container.md")]
public sealed class RemoveContainerCommand : ContainerIdCmdlet
{
    /// <summary>Overrides both refusals: kills a running or paused container first, and acts in a namespace another manager owns (moby, k8s.io).</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override string? ShouldProcessAction => Force ? "Remove container (killing it first if it runs)" : "Remove container";

    protected override bool ForceNamespace => Force;

    protected override async Task ActAsync(ContainerTarget target, IOutputSink sink, CancellationToken ct)
    {
        var info = await target.Engine.GetInfoAsync(target.Id, ct).ConfigureAwait(false);
        await target.Engine.RemoveAsync(target.Id, Force, ct).ConfigureAwait(false);
        if (info.Labels.TryGetValue(RootFsArchive.Label, out var unpacked))
        {
            // The root filesystem New-Container unpacked from a tar file goes with the container.
            RootFsArchive.Delete(unpacked);
        }
    }
}
