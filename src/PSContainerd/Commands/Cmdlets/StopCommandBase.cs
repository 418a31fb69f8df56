using System.Management.Automation;

namespace PSContainerd.Commands;

/// <summary>
/// What Stop-Container, its -AsJob and Restart-Container share: the stop's -Timeout and
/// -Signal (one meaning for both cmdlets), -ThrottleLimit and -Force, declared once so their help
/// and validation cannot drift apart. -Signal is checked before any container is touched.
/// </summary>
public abstract class StopCommandBase : ContainerIdCmdlet
{
    private int? _signal;

    /// <summary>
    /// Seconds to wait after the stop signal before SIGKILL. -1 never forces; 0 kills at once.
    /// Default: the container's stop timeout, else 10. Alias -t, as docker stop -t (so -t is never
    /// taken for -ThrottleLimit).
    /// </summary>
    [Parameter]
    [ValidateRange(-1, int.MaxValue)]
    [Alias("t")]
    public int Timeout { get; set; }

    /// <summary>The stop signal (SIGINT, INT or a number). Default: the container's stop signal, else SIGTERM.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(SignalCompleter))]
    public string? Signal { get; set; }

    /// <summary>
    /// How many stops run at once by default: 50, as docker's CLI stops and kills (its
    /// parallelOperation). A stop mostly waits (a grace period, an exit, a task delete), so a
    /// lower limit multiplies the waits: 100 containers that ignore SIGTERM with -Timeout 10 take
    /// 20 s at 50, 70 s at 16. docs/performance.md has the measured figures.
    /// </summary>
    public const int DefaultStopThrottle = 50;

    /// <summary>How many containers are acted on at once.</summary>
    [Parameter]
    [ValidateRange(1, 1024)]
    public int ThrottleLimit { get; set; } = DefaultStopThrottle;

    /// <summary>Overrides the refusal of a namespace another manager owns (moby, k8s.io); nothing else.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override bool ForceNamespace => Force;

    protected override int Throttle => ThrottleLimit;

    protected override void BeginProcessing() => _signal = SignalArgument.Parse(this, Signal);

    /// <summary>One container's stop with this call's -Signal and -Timeout (null when not given: the container's own).</summary>
    protected Task<StopResult> StopAsync(ContainerTarget target, IOutputSink sink, CancellationToken ct, bool writeResult = true) =>
        StopAction.RunAsync(target, _signal, MyInvocation.BoundParameters.ContainsKey(nameof(Timeout)) ? Timeout : null, sink, ct, writeResult);
}
