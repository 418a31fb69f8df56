using System.Management.Automation;

namespace PSContainerd.Commands;

/// <summary>
/// <para type="synopsis">Starts containers' tasks, as docker start does.</para>
/// <para type="description">
/// Creates and starts the task of each container. A container whose task already exited gets a
/// fresh task (the old one is deleted first); a running or paused container is left alone. A
/// manual start clears the manual-stop mark and cancels a pending restart. Writes the container's
/// ContainerInfo after the start.
/// </para>
/// </summary>
[Cmdlet(VerbsLifecycle.Start, "Container", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low, HelpUri = HelpUris.Base + "Start-Container.md")]
[OutputType(typeof(ContainerInfo))]
public sealed class StartContainerCommand : ContainerIdCmdlet
{
    /// <summary>Act in a namespace another manager owns (moby, k8s.io).</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override string? ShouldProcessAction => "Start container";

    protected override bool ForceNamespace => Force;

    protected override async Task ActAsync(ContainerTarget target, IOutputSink sink, CancellationToken ct) =>
        sink.Output(await target.Engine.StartAsync(target.Id, ct).ConfigureAwait(false));
}
