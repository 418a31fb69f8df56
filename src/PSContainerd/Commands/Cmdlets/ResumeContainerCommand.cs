using System.Management.Automation;
using PSContainerd.Engine;

namespace PSContainerd.Commands;

/// <summary>
/// <para type="synopsis">Resumes paused containers, as docker unpause does.</para>
/// <para type="description">
/// Thaws the container's cgroup so its processes run again. A container that is already running
/// is left alone; one that has no live task gets an InvalidContainerState error.
/// </para>
/// </summary>
[Cmdlet(VerbsLifecycle.Resume, "Container", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low, HelpUri = HelpUris.Base + "Resume-Container.md")]
[OutputType(typeof(ContainerInfo))]
public sealed class ResumeContainerCommand : FreezeCommandBase
{
    protected override string Action => "Resume container";

    protected override Task ApplyAsync(ContainerEngine engine, string id, CancellationToken ct) => engine.ResumeAsync(id, ct);
}
