using System.Management.Automation;
using PSContainerd.Engine;

namespace PSContainerd.Commands;

/// <summary>
/// <para type="synopsis">Stops containers: stop signal, grace period, SIGKILL, direct kill; records the exit.</para>
/// <para type="description">dockerd's stop flow, bounded at every step. Every id of the call is resolved before any container is signalled; many containers are stopped concurrently (-ThrottleLimit); results are written as each finishes.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Stop, "Container", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, HelpUri = HelpUris.Base + "Stop-Container.md")]
[OutputType(typeof(StopResult))]
[OutputType(typeof(Job))]
public sealed class StopContainerCommand : StopCommandBase
{
    /// <summary>Returns a job at once; its output is the StopResults.</summary>
    [Parameter]
    public SwitchParameter AsJob { get; set; }

    protected override string? ShouldProcessAction => "Stop container";

    protected override string? ProgressActivity => "Stopping containers";

    protected override Task ActAsync(ContainerTarget target, IOutputSink sink, CancellationToken ct) => StopAsync(target, sink, ct);

    protected override void Run(IReadOnlyList<ContainerTarget> targets)
    {
        if (!AsJob)
        {
            base.Run(targets);
            return;
        }

        StartJob(new StopContainerJob(targets, ActAsync, ThrottleLimit, MyInvocation.Line));
    }
}
