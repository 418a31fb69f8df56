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

        var rec = await QuietCalls.RecordOf(_client, s.Id).ConfigureAwait(false);
        if (rec is not null && !s.Record.IsSame(rec.CreatedAt))
        {
            Forsake(s, rec, pid, source);
            return (true, rec);
        }

        var task = await QuietCalls.OrNull(() => _client.GetTaskAsync(s.Id)).ConfigureAwait(false);
        var onRecord = rec is null ? null : RecordedState.Of(rec.Labels);
        var laterExit = LaterExitOfTheRun(onRecord, at);
        string? newer = task is not null && task.Pid != pid
            ? $"containerd has a newer task of the container (pid {task.Pid}, {task.Status.ToString().ToLowerInvariant()})"
            : task is null && onRecord?.StartedAt is DateTime started && started > at + ClockSlack
                ? $"the container was started again since (at {started:O}), and that run is over too"
                : laterExit is DateTime later
                    ? $"the record holds a later exit of the same run (at {later:O}): a run's init exits once, so this one was not its init's (an exec given the container's id as its exec id)"
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
            if (laterExit is not null && onRecord is { Exit: { } recorded, RecordsRunning: false })
            {
                // This state was taken on for that exit (a first look at an exit event): the run
                // is over, with the exit the record holds.
                s.SetExited(recorded, restarting: onRecord.RecordsRestarting);
            }
        }

        return (true, rec);
    }

    /// <summary>
    /// When the record holds an exit, of the run it records as started, after one at <paramref name="at"/>:
    /// that run's init exited then, so an exit reported at <paramref name="at"/> was not its init's.
    /// Chaos seed 20261307: an exec given the container's id as its exec id exited 121 while the
    /// holder was frozen; another session's stop then killed the init and deleted the task, and the
    /// holder, resumed, found no task to tell the exec's pid from the init's and wrote 121 over the 137.
    /// An exit recorded as unknown (255) is left for the real status to correct. Both times are
    /// containerd's (the shim's clock at each exit), so no slack: the same exit reported twice has
    /// the same time, and the two exits of the chaos run were only a few milliseconds apart when a
    /// stop came right after the exec.
    /// </summary>
    private static DateTime? LaterExitOfTheRun(RecordedState? onRecord, DateTime at) =>
        onRecord?.Exit is { ExitedAt: DateTime recordedAt, ExitCode: not 255 } && recordedAt > at
        && (onRecord.StartedAt is not DateTime started || recordedAt >= started)
            ? recordedAt
            : null;

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
