using PSContainerd.Containerd;

namespace PSContainerd.Engine;

/// <summary>
/// Tells an exit that is no longer this state's to record: one seen late whose container runs a
/// newer task now, and one of a container removed and created again under the same id since.
/// </summary>
internal sealed class LateExits
{
    /// <summary>An exit seen this long after it happened may have been recorded, and the container started again, by another session meanwhile.</summary>
    private static readonly TimeSpan LateExit = TimeSpan.FromSeconds(1);

    private readonly ContainerdClient _client;
    private readonly bool _manages;
    private readonly Action<string, string> _diagnostic;
    private readonly Action<ContainerState> _forget;

    /// <param name="manages">False in a namespace another manager owns: no exit there is judged late.</param>
    /// <param name="diagnostic">(container id, message) for failures nobody awaits.</param>
    /// <param name="forget">Drops a container the engine no longer tracks.</param>
    public LateExits(ContainerdClient client, bool manages, Action<string, string> diagnostic, Action<ContainerState> forget)
    {
        _client = client;
        _manages = manages;
        _diagnostic = diagnostic;
        _forget = forget;
    }

    /// <summary>containerd's and the kernel's clocks against ours: an exit this much before a start still counts as of that run.</summary>
    private static readonly TimeSpan ClockSlack = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// A stale exit of an earlier task: another pid than the one running, or an exit from before
    /// this run started of an init that had the same pid.
    /// </summary>
    public static bool IsOfEarlierRun(ContainerState s, uint pid, ExitInfo? exit) =>
        (pid != 0 && s.Pid != 0 && pid != s.Pid)
        || (exit?.ExitedAt is DateTime at && s.RunNotBefore is DateTime started && at < started - ClockSlack);

    /// <summary>
    /// An exit seen late (this process was stopped or frozen, or its event stream backed up) of a
    /// run another session has since followed with a newer one: a newer task (running or exited),
    /// or a start recorded after the exit whose task is gone already. That session recorded the
    /// exit and started the container again meanwhile; writing the old exit now would record a
    /// running container as stopped, or overwrite the newer run's exit (chaos seeds 4646 and 8484,
    /// a supervisor frozen with SIGSTOP). Asked of containerd only for late exits; the record read
    /// here is the one the exit's write goes by (<see cref="ExitRecorder.RecordAsync"/>).
    /// </summary>
    /// <returns>Whether the exit is overtaken; and the record read to tell (null when none was read), which the exit's write then goes by instead of reading it again.</returns>
    public async Task<(bool Overtaken, ContainerRecord? Record)> IsOvertakenAsync(ContainerState s, uint pid, ExitInfo? exit, string source)
    {
        if (!_manages || pid == 0 || exit?.ExitedAt is not DateTime at || DateTime.UtcNow - at < LateExit)
        {
            return (false, null);
        }

        var rec = await QuietCalls.OrNull<ContainerRecord>(async () => await _client.GetContainerAsync(s.Id).ConfigureAwait(false)).ConfigureAwait(false);
        if (rec is not null && !s.Record.IsSame(rec.CreatedAt))
        {
            Forsake(s, rec, pid, source);
            return (true, rec);
        }

        var task = await QuietCalls.OrNull(() => _client.GetTaskAsync(s.Id)).ConfigureAwait(false);
        string? newer = task is not null && task.Pid != pid
            ? $"containerd has a newer task of the container (pid {task.Pid}, {task.Status.ToString().ToLowerInvariant()})"
            : task is null && rec is not null && RecordedState.Of(rec.Labels).StartedAt is DateTime started && started > at + ClockSlack
                ? $"the container was started again since (at {started:O}), and that run is over too"
                : null;
        if (newer is null)
        {
            return (false, rec);
        }

        // A newer run's exit, once over, is that run's to record (chaos seed 8484: the holder wrote
        // the first run's exit 0 and state=stopped over the second run's 137, and nobody restarted it).
        _diagnostic(s.Id, $"an exit of pid {pid} seen {(DateTime.UtcNow - at).TotalSeconds:0.#} s late ({source}) was not recorded: {newer}");
        if (rec is not null)
        {
            s.RefreshLabels(rec.Labels);
        }

        return (true, rec);
    }

    /// <summary>
    /// The container this state followed was removed and another of the same id created since (a
    /// record with another CreatedAt): the exit is the old container's and none of the new one's
    /// business. Writing it would give a container never started an exit, and a restart policy a
    /// reason to start it (chaos seed 20261210: exit 255 recorded on a container re-created
    /// without -Start). The state is forgotten, so the new record is loaded afresh.
    /// </summary>
    public void Forsake(ContainerState s, ContainerRecord rec, uint pid, string source)
    {
        _diagnostic(s.Id, $"an exit of pid {pid} ({source}) was not recorded: the container was removed and created again (at {rec.CreatedAt:O}) since that run");
        _forget(s);
    }
}
