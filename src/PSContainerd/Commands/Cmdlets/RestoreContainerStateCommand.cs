using System.Management.Automation;
using PSContainerd.Engine;

namespace PSContainerd.Commands;

/// <summary>
/// <para type="synopsis">Reconciles the state recorded in container labels with what containerd reports, after the module's process, containerd or the host restarted.</para>
/// <para type="description">For each container (all of the namespace, or -Id): a task that exited
/// is deleted and its exit recorded, then the restart policy applied; a container whose labels say
/// running but that has no task gets exit 255 (status unknown); a live task is watched again, or
/// stopped with -StopRunning; a stop interrupted by the death of its process is resumed where its
/// deadline says; a restart pending when its process died is carried out. Run twice, the second
/// run reports Unchanged. A container the module does not manage (made by ctr, nerdctl or another
/// tool) is only reported unless -Adopt is given. -WhatIf says what would be done to each container.</para>
/// </summary>
[Cmdlet(VerbsData.Restore, "ContainerState", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, HelpUri = HelpUris.Base + "Restore-ContainerState.md")]
[OutputType(typeof(RestoreResult))]
public sealed class RestoreContainerStateCommand : PerContainerCmdlet
{
    /// <summary>Containers to restore: ids, PowerShell wildcards, or unique prefixes of 64-hex ids. Default: every container of the namespace.</summary>
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    [Alias("ContainerId")]
    [ArgumentCompleter(typeof(ContainerIdCompleter))]
    public string[]? Id { get; set; }

    /// <summary>Stop live tasks through the normal stop flow instead of watching them again (dockerd without live-restore).</summary>
    [Parameter]
    public SwitchParameter StopRunning { get; set; }

    /// <summary>Also take over containers the module does not manage (made by ctr, nerdctl or another tool): without it they are only reported.</summary>
    [Parameter]
    public SwitchParameter Adopt { get; set; }

    /// <summary>Act in a namespace another manager owns (moby, k8s.io).</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override IReadOnlyList<string>? RequestedIds => Id;

    protected override string? ShouldProcessAction => StopRunning ? "Restore state, stopping a running task" : "Restore state";

    protected override bool ForceNamespace => Force;

    /// <summary>
    /// Under -WhatIf or -Confirm, what the restore would do to this container (delete its task,
    /// record its exit, restart it, ...), read from containerd now; otherwise the plain action,
    /// so a restore without them costs no extra look.
    /// </summary>
    protected override string ActionFor(ContainerTarget target, string action)
    {
        if (!WillAsk())
        {
            return action;
        }

        string what = action;
        Pump(async ct =>
        {
            try
            {
                what = $"{action}: {await target.Engine.DescribeRestoreAsync(target.Id, StopRunning, Adopt, ct).ConfigureAwait(false)}";
            }
            catch (Exception e) when (e is ContainerLookupException or Containerd.ContainerdException)
            {
                what = $"{action} (what it would do could not be read: {e.Message})";
            }
        });
        return what;
    }

    private bool WillAsk() =>
        MyInvocation.BoundParameters.ContainsKey("WhatIf") || MyInvocation.BoundParameters.ContainsKey("Confirm")
        || (GetVariableValue("WhatIfPreference") is { } w && LanguagePrimitives.IsTrue(w))
        || (GetVariableValue("ConfirmPreference") is ConfirmImpact c && c != ConfirmImpact.None && c <= ConfirmImpact.Medium);

    protected override int Throttle => ContainerEngine.RestoreParallelism;

    protected override string? ProgressActivity => "Restore-ContainerState";

    protected override async Task ActAsync(ContainerTarget target, IOutputSink sink, CancellationToken ct)
    {
        RestoreResult result;
        try
        {
            result = await target.Engine.RestoreOneAsync(target.Id, StopRunning, ct, Adopt).ConfigureAwait(false);
        }
        catch (ContainerLookupException) when (target.Listed)
        {
            return; // deleted since the namespace was listed: nothing to restore
        }

        sink.Output(result);
        if (result.Stop is { Outcome: StopOutcome.Failed } failed)
        {
            sink.Error(ErrorRecords.StopFailed(failed));
        }
    }
}
