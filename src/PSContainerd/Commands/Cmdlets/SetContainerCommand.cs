using System.Management.Automation;
using PSContainerd.Engine;

namespace PSContainerd.Commands;

/// <summary>
/// <para type="synopsis">Changes the recorded settings of existing containers, as docker update does: restart policy, stop signal, stop timeout.</para>
/// <para type="description">
/// The settings are written to the container's labels, where New-Container put them. They apply
/// from the next stop (stop signal, stop timeout) and the next exit (restart policy); a running
/// container keeps running. Settings not given are left as they are. Invalid values are refused
/// before any container is touched.
/// </para>
/// </summary>
[Cmdlet(VerbsCommon.Set, "Container", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low, HelpUri = HelpUris.Base + "Set-Container.md")]
[OutputType(typeof(ContainerInfo))]
public sealed class SetContainerCommand : ContainerIdCmdlet
{
    private RestartPolicy? _policy;
    private int? _stopSignal;

    /// <summary>no, always, unless-stopped or on-failure[:N].</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(RestartPolicyCompleter))]
    public string? RestartPolicy { get; set; }

    /// <summary>The signal Stop-Container sends first (SIGINT, INT or a number).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(SignalCompleter))]
    public string? StopSignal { get; set; }

    /// <summary>Seconds Stop-Container waits before SIGKILL; -1 never forces.</summary>
    [Parameter]
    [ValidateRange(-1, int.MaxValue)]
    public int? StopTimeout { get; set; }

    /// <summary>Write the container's ContainerInfo afterwards.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <summary>Act in a namespace another manager owns (moby, k8s.io).</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override string? ShouldProcessAction => "Set " + string.Join(", ", Changes());

    protected override bool ForceNamespace => Force;

    protected override void BeginProcessing()
    {
        if (RestartPolicy is null && StopSignal is null && StopTimeout is null)
        {
            ThrowTerminatingError(ErrorRecords.Make(new ArgumentException("Give at least one of -RestartPolicy, -StopSignal, -StopTimeout."),
                "NoSettingGiven", ErrorCategory.InvalidArgument, null));
        }

        if (RestartPolicy is not null)
        {
            if (!PSContainerd.Engine.RestartPolicy.TryParse(RestartPolicy, out var policy))
            {
                ThrowTerminatingError(ErrorRecords.InvalidRestartPolicy(RestartPolicy));
            }

            _policy = policy;
        }

        _stopSignal = SignalArgument.Parse(this, StopSignal);
    }

    protected override async Task ActAsync(ContainerTarget target, IOutputSink sink, CancellationToken ct)
    {
        var info = await target.Engine.UpdateSettingsAsync(target.Id, _policy, _stopSignal, StopTimeout, ct).ConfigureAwait(false);
        if (PassThru)
        {
            sink.Output(info);
        }
    }

    private IEnumerable<string> Changes()
    {
        if (RestartPolicy is not null)
        {
            yield return $"restart policy {RestartPolicy}";
        }

        if (StopSignal is not null)
        {
            yield return $"stop signal {StopSignal}";
        }

        if (StopTimeout is not null)
        {
            yield return $"stop timeout {StopTimeout} s";
        }
    }
}
