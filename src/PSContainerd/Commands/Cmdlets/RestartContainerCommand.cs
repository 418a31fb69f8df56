using System.Management.Automation;

namespace PSContainerd.Commands;

/// <summary>
/// <para type="synopsis">Restarts containers, as docker restart does: a stop with Stop-Container's semantics, then a start.</para>
/// <para type="description">
/// Each container is stopped exactly as Stop-Container stops it (stop signal, grace period, SIGKILL,
/// direct kill; -Timeout and -Signal mean the same), then started as Start-Container starts it. A
/// container that was not running is just started. When the stop fails (the process survived
/// SIGKILL) StopFailed is written and the container is not started. Writes the container's
/// ContainerInfo after the start.
/// </para>
/// </summary>
[Cmdlet(VerbsLifecycle.Restart, "Container", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, HelpUri = HelpUris.Base + "Restart-Container.md")]
[OutputType(typeof(ContainerInfo))]
public sealed class RestartContainerCommand : StopCommandBase
{
    protected override string? ShouldProcessAction => "Restart container";

    protected override string? ProgressActivity => "Restarting containers";

    protected override async Task ActAsync(ContainerTarget target, IOutputSink sink, CancellationToken ct)
    {
        var stop = await StopAsync(target, sink, ct, writeResult: false).ConfigureAwait(false);
        if (stop.Outcome == StopOutcome.Failed)
        {
            return; // StopFailed was written; starting a second task beside a live one would be wrong
        }

        sink.Output(await target.Engine.StartAsync(target.Id, ct).ConfigureAwait(false));
    }
}
