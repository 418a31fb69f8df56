using System.Management.Automation;
using PSContainerd.Engine;

namespace PSContainerd.Commands;

/// <summary>
/// <para type="synopsis">Sends one signal to containers, as docker kill does: no grace period, no escalation.</para>
/// <para type="description">
/// Sends the signal to the container's init process, or with -All to every process in it. SIGKILL
/// or the container's stop signal sent this way counts as a manual stop, so the restart policy does
/// not bring the container back. An invalid -Signal is refused before any container is touched.
/// Use Stop-Container for a stop that waits and escalates.
/// </para>
/// </summary>
[Cmdlet(VerbsCommunications.Send, "ContainerSignal", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, HelpUri = HelpUris.Base + "Send-ContainerSignal.md")]
[OutputType(typeof(ContainerInfo))]
public sealed class SendContainerSignalCommand : ContainerIdCmdlet
{
    private int _signal;

    /// <summary>A signal name (SIGTERM, TERM, any case, RTMIN+N) or number 1..64. Default: SIGKILL.</summary>
    [Parameter(Position = 1)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(SignalCompleter))]
    public string Signal { get; set; } = "SIGKILL";

    /// <summary>Signal every process in the container, not only its init process.</summary>
    [Parameter]
    public SwitchParameter All { get; set; }

    /// <summary>Write the container's ContainerInfo after signalling it.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <summary>Act in a namespace another manager owns (moby, k8s.io).</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void BeginProcessing()
    {
        // Once, before any id is bound from the pipeline: a bad signal must change nothing.
        // Signal is never null ([ValidateNotNullOrEmpty], default SIGKILL), so neither is the number.
        _signal = SignalArgument.Parse(this, Signal) ?? Signals.SIGKILL;
    }

    protected override string? ShouldProcessAction => $"Send {Signals.Name(_signal)}{(All ? " to every process" : string.Empty)}";

    protected override bool ForceNamespace => Force;

    protected override async Task ActAsync(ContainerTarget target, IOutputSink sink, CancellationToken ct)
    {
        await target.Engine.SignalAsync(target.Id, _signal, All, ct).ConfigureAwait(false);
        if (PassThru)
        {
            sink.Output(await target.Engine.GetInfoAsync(target.Id, ct).ConfigureAwait(false));
        }
    }
}
