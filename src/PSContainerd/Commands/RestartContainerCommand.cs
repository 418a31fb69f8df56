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
public sealed class RestartContainerCommand : PerContainerCmdlet
{
    private int? _signal;

    /// <summary>Container ids, PowerShell wildcards, or unique prefixes of 64-hex ids.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    [Alias("ContainerId")]
    [ArgumentCompleter(typeof(ContainerIdCompleter))]
    public string[] Id { get; set; } = Array.Empty<string>();

    /// <summary>Seconds to wait after the stop signal before SIGKILL. -1 never forces; 0 kills at once. Default: the container's stop timeout, else 10.</summary>
    [Parameter]
    [ValidateRange(-1, int.MaxValue)]
    public int Timeout { get; set; }

    /// <summary>The stop signal (SIGINT, INT or a number). Default: the container's stop signal, else SIGTERM.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(SignalCompleter))]
    public string? Signal { get; set; }

    /// <summary>How many containers are restarted at once.</summary>
    [Parameter]
    [ValidateRange(1, 1024)]
    public int ThrottleLimit { get; set; } = DefaultThrottle;

    /// <summary>Act in a namespace another manager owns (moby, k8s.io).</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override IReadOnlyList<string>? RequestedIds => Id;

    protected override string? ShouldProcessAction => "Restart container";

    protected override bool ForceNamespace => Force;

    protected override int Throttle => ThrottleLimit;

    protected override string? ProgressActivity => "Restarting containers";

    protected override void BeginProcessing() => _signal = StopAction.ParseSignal(this, Signal);

    protected override async Task ActAsync(ContainerTarget target, IOutputSink sink, CancellationToken ct)
    {
        int? timeout = MyInvocation.BoundParameters.ContainsKey(nameof(Timeout)) ? Timeout : null;
        var stop = await StopAction.RunAsync(target, _signal, timeout, sink, ct, writeResult: false).ConfigureAwait(false);
        if (stop.Outcome == StopOutcome.Failed)
        {
            return; // StopFailed was written; starting a second task beside a live one would be wrong
        }

        sink.Output(await target.Engine.StartAsync(target.Id, ct).ConfigureAwait(false));
    }
}
