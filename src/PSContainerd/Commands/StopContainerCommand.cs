using System.Management.Automation;
using PSContainerd.Engine;

namespace PSContainerd.Commands;

/// <summary>
/// <para type="synopsis">Stops containers: stop signal, grace period, SIGKILL, direct kill; records the exit.</para>
/// <para type="description">dockerd's stop flow, bounded at every step. Every id of the call is resolved before any container is signalled; many containers are stopped concurrently (-ThrottleLimit); results are written as each finishes.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Stop, "Container", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(StopResult))]
[OutputType(typeof(Job))]
public sealed class StopContainerCommand : PerContainerCmdlet
{
    private int? _signal;

    /// <summary>Container ids, PowerShell wildcards, or unique prefixes of 64-hex ids.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [AllowEmptyString]
    [SupportsWildcards]
    [Alias("ContainerId")]
    public string[] Id { get; set; } = Array.Empty<string>();

    /// <summary>Seconds to wait after the stop signal before SIGKILL. -1 never forces; 0 kills at once. Default: the container's stop timeout, else 10.</summary>
    [Parameter]
    [ValidateRange(-1, int.MaxValue)]
    public int Timeout { get; set; }

    /// <summary>The stop signal (SIGINT, INT or a number). Default: the container's stop signal, else SIGTERM.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Signal { get; set; }

    /// <summary>How many containers are stopped at once.</summary>
    [Parameter]
    [ValidateRange(1, 1024)]
    public int ThrottleLimit { get; set; } = DefaultThrottle;

    /// <summary>Returns a job at once; its output is the StopResults.</summary>
    [Parameter]
    public SwitchParameter AsJob { get; set; }

    /// <summary>Acts in a namespace owned by another manager (moby, k8s.io).</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override IReadOnlyList<string>? RequestedIds => Id;

    protected override string? ShouldProcessAction => "Stop container";

    protected override bool ForceNamespace => Force;

    protected override int Throttle => ThrottleLimit;

    protected override string? ProgressActivity => "Stopping containers";

    private int? TimeoutOrNull => MyInvocation.BoundParameters.ContainsKey(nameof(Timeout)) ? Timeout : null;

    protected override void BeginProcessing()
    {
        if (Signal is not null)
        {
            if (!Signals.TryParse(Signal, out var s))
            {
                ThrowTerminatingError(ErrorRecords.InvalidSignal(Signal));
            }

            _signal = s;
        }
    }

    protected override Task ActAsync(ContainerTarget target, IOutputSink sink, CancellationToken ct) =>
        StopAction.RunAsync(target, _signal, TimeoutOrNull, sink, ct);

    protected override void Run(IReadOnlyList<ContainerTarget> targets)
    {
        if (!AsJob)
        {
            base.Run(targets);
            return;
        }

        var job = new StopContainerJob(targets, ActAsync, ThrottleLimit, MyInvocation.Line);
        JobRepository.Add(job);
        job.Start();
        WriteObject(job);
    }
}
