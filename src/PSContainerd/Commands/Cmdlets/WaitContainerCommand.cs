using System.Management.Automation;
using PSContainerd.Engine;

namespace PSContainerd.Commands;

/// <summary>
/// <para type="synopsis">Waits for containers to stop, exit again, be removed, or become ready, like docker wait.</para>
/// <para type="description">NotRunning returns at once for a container that is not running, with its recorded exit (also when something else stopped it). NextExit always waits for the next exit. Removed waits for deletion. Ready waits until the container runs and passes every readiness check given (-LogPattern, -Command, -TcpPort, -SignalHandled).</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Wait, "Container", HelpUri = HelpUris.Base + "Wait-Container.md")]
[OutputType(typeof(WaitResult))]
public sealed class WaitContainerCommand : ContainerIdCmdlet
{
    private readonly CancellationTokenSource _anyMet = new();
    private readonly System.Collections.Concurrent.ConcurrentQueue<WaitResult> _timedOut = new();
    private int _met;

    /// <summary>NotRunning (default), NextExit, Removed or Ready.</summary>
    [Parameter]
    public WaitCondition Condition { get; set; } = WaitCondition.NotRunning;

    /// <summary>Ready: a line of the container's log file matches this regular expression.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? LogPattern { get; set; }

    /// <summary>Ready: this command, run in the container (as Invoke-ContainerCommand), exits 0.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? Command { get; set; }

    /// <summary>Ready: a socket in the container's network namespace listens on this TCP port.</summary>
    [Parameter]
    [ValidateRange(1, 65535)]
    public int? TcpPort { get; set; }

    /// <summary>Ready: the container's init process has a handler for its stop signal, so a stop will not be dropped.</summary>
    [Parameter]
    public SwitchParameter SignalHandled { get; set; }

    /// <summary>Seconds to wait; -1 (default) waits for ever. A container still waiting then gives a result with TimedOut.</summary>
    [Parameter]
    [ValidateRange(-1, int.MaxValue)]
    [Alias("t")]
    public int Timeout { get; set; } = -1;

    /// <summary>Returns when the first of the containers meets the condition.</summary>
    [Parameter]
    public SwitchParameter Any { get; set; }

    protected override string? ShouldProcessAction => null;

    private ReadinessCriteria? _ready;

    protected override void BeginProcessing()
    {
        bool probes = LogPattern is not null || Command is not null || TcpPort is not null || SignalHandled;
        if (probes && Condition != WaitCondition.Ready)
        {
            ThrowTerminatingError(ErrorRecords.Make(new ArgumentException("-LogPattern, -Command, -TcpPort and -SignalHandled are readiness checks: use them with -Condition Ready."),
                "ReadinessCheckWithoutReady", ErrorCategory.InvalidArgument, Condition));
        }

        if (Condition == WaitCondition.Ready)
        {
            System.Text.RegularExpressions.Regex? pattern = null;
            try
            {
                pattern = LogPattern is null ? null : new System.Text.RegularExpressions.Regex(LogPattern, System.Text.RegularExpressions.RegexOptions.CultureInvariant);
            }
            catch (ArgumentException e)
            {
                ThrowTerminatingError(ErrorRecords.Make(e, "InvalidLogPattern", ErrorCategory.InvalidArgument, LogPattern));
            }

            _ready = new ReadinessCriteria(pattern, Command, TcpPort, SignalHandled);
        }
    }

    /// <summary>A wait holds no resource: every container is waited for at once.</summary>
    protected override int Throttle => int.MaxValue;

    protected override async Task ActAsync(ContainerTarget target, IOutputSink sink, CancellationToken ct)
    {
        TimeSpan? timeout = Timeout < 0 ? null : TimeSpan.FromSeconds(Timeout);
        WaitResult r;
        try
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, _anyMet.Token);
            r = _ready is not null
                ? await target.Engine.WaitReadyAsync(target.Id, _ready, timeout, linked.Token).ConfigureAwait(false)
                : await target.Engine.WaitAsync(target.Id, Condition, timeout, linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_anyMet.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            return; // -Any: another container answered first
        }

        if (!Any)
        {
            sink.Output(r);
        }
        else if (r.TimedOut)
        {
            _timedOut.Enqueue(r);
        }
        else if (Interlocked.Increment(ref _met) == 1)
        {
            // -Any: the first container to meet the condition is the answer; the rest stop waiting.
            sink.Output(r);
            _anyMet.Cancel();
        }
    }

    protected override void Run(IReadOnlyList<ContainerTarget> targets)
    {
        base.Run(targets);
        if (Any && _met == 0)
        {
            foreach (var r in _timedOut)
            {
                WriteObject(r);
            }
        }
    }
}
