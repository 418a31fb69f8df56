using System.Management.Automation;
using PSContainerd.Engine;

namespace PSContainerd.Commands;

/// <summary>
/// <para type="synopsis">Pauses containers (freezes every process in them), as docker pause does.</para>
/// <para type="description">
/// Freezes the container's cgroup so none of its processes runs until Resume-Container. A container
/// that is already paused is left alone; one that is not running gets an InvalidContainerState error.
/// </para>
/// </summary>
[Cmdlet(VerbsLifecycle.Suspend, "Container", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low, HelpUri = HelpUris.Base + "Suspend-Container.md")]
[OutputType(typeof(ContainerInfo))]
public sealed class SuspendContainerCommand : FreezeCommandBase
{
    protected override string Action => "Suspend container";

    protected override Task ApplyAsync(ContainerEngine engine, string id, CancellationToken ct) => engine.PauseAsync(id, ct);
}
