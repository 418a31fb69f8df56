using PSContainerd.Containerd;

namespace PSContainerd.Engine;

/// <summary>
/// Finalises an init process's exit, whichever source saw it first (event, Tasks.Wait, pidfd,
/// resync): delete the task (its answer carries the exit status when nothing else did), record
/// exit code, time and OOM in labels, then wake waiters, emit the event and hand the container to
/// the restart manager or auto-remove. Always runs on the container's serial queue, so a second
/// report of the same exit finds the state already stopped and is dropped.
/// </summary>
internal sealed class ExitRecorder
{
    private readonly ContainerdClient _client;
    private readonly LabelStateStore _store;
    private readonly EngineEvents _events;
    private readonly string _namespace;
    private readonly bool _manages;
    private readonly RestartSupervisor _restarts;
    private readonly Action<string, string> _diagnostic;
    private readonly AutoRemover _autoRemove;
    private readonly TaskDeleter _deleter;
    private readonly LateExits _late;
    private readonly ExitCorrection _correction;

    /// <summary>Where a stop's pidfd watch starts the exit's record read early (<see cref="ExitSources"/>).</summary>
    public RecordAfterExit ReadAfterExit { get; }

    /// <param name="manages">False in a namespace another manager owns: record in memory only, never delete or write.
    /// The same holds for a container the module does not manage (<see cref="RecordedState.IsManaged"/>) in any namespace.</param>
    /// <param name="diagnostic">(container id, message) for failures nobody awaits.</param>
    /// <param name="remover">The engine's removal of a record, which -AutoRemove goes through as Remove-Container does.</param>
    /// <param name="forget">Drops a container the engine no longer tracks (an exit of a container created again since).</param>
    public ExitRecorder(ContainerdClient client, LabelStateStore store, EngineEvents events, string @namespace, bool manages, RestartSupervisor restarts, RecordRemover remover, Action<string, string> diagnostic, Action<ContainerState> forget)
    {
        _client = client;
        _store = store;
        _events = events;
        _namespace = @namespace;
        _manages = manages;
        _restarts = restarts;
        _diagnostic = diagnostic;
        _deleter = new TaskDeleter(client, diagnostic);
        _late = new LateExits(client, manages, diagnostic, forget);
        _autoRemove = new AutoRemover(remover, diagnostic);
        _correction = new ExitCorrection(store, events, @namespace, _deleter, diagnostic);
        ReadAfterExit = new RecordAfterExit(client);
    }

    /// <summary>Call only from the container's queue.</summary>
    /// <param name="restoring">The exit happened while no engine watched (Restore-ContainerState):
    /// the restore rule of the restart policy applies and a restart happens at once.</param>
    /// <param name="recordOnly">Record the exit, restart nothing: a first look at a container (a
    /// Wait-Container) is no reason to restart it; restarts belong to the supervisor and restore.</param>
    public async Task FinalizeAsync(ContainerState s, uint pid, ExitInfo? exit, string source, bool restoring = false, bool recordOnly = false)
    {
        if (!s.IsLive)
        {
            // A duplicate, or a stale exit of an earlier task; or the real status of an exit
            // recorded as unknown (a hung shim, containerd#12678): then it corrects the record.
            if (exit is not null && pid != 0 && pid == s.LastPid && s.LastExit is { Detail: not null })
            {
                await _correction.CorrectAsync(s, pid, exit, source, Manages(s)).ConfigureAwait(false);
            }

            return;
        }

        if (LateExits.IsOfEarlierRun(s, pid, exit))
        {
            return;
        }

        // A late exit's record, read once here, is the one its write goes by (RecordAsync).
        var (overtaken, current) = await _late.IsOvertakenAsync(s, pid, exit, source).ConfigureAwait(false);
        if (overtaken)
        {
            return;
        }

        var client = _client;
        string? detail = null;
        bool deleteAfterRecord = false;
        string? deleteFailure = null;
        bool manages = Manages(s);
        if (manages && exit is not null)
        {
            // The exit is known: record it before deleting the task, so no reader (another
            // process's Get-Container) ever sees a container with neither a task nor an exit.
            deleteAfterRecord = true;
        }
        else if (manages)
        {
            var (deleted, failure, running) = await _deleter.DeleteAsync(s.Id).ConfigureAwait(false);
            if (running)
            {
                // containerd says the task still runs: whatever reported the exit was wrong (a
                // stale pidfd watch); recording it would make every later stop answer AlreadyStopped.
                _diagnostic(s.Id, $"an exit reported by {source} was not recorded: containerd says the task still runs");
                return;
            }

            exit = deleted;
            deleteFailure = failure;
        }
        else if (exit is null)
        {
            var t = await QuietCalls.OrNull(() => client.GetTaskAsync(s.Id)).ConfigureAwait(false);
            exit = t is { Status: Containerd.TaskStatus.Stopped } ? new ExitInfo(t.ExitStatus, t.ExitedAt) : null;
        }

        if (exit is null)
        {
            // Someone else deleted the task: trust their record if it is of this run.
            var rec = current = await QuietCalls.RecordOf(client, s.Id).ConfigureAwait(false);
            if (rec is not null && !s.Record.IsSame(rec.CreatedAt))
            {
                _late.Forsake(s, rec, pid, source);
                return;
            }

            var recorded = rec is null ? null : RecordedState.Of(rec.Labels).Exit;
            if (recorded is not null && (s.StartedAt is null || recorded.ExitedAt >= s.StartedAt))
            {
                s.RefreshLabels(rec!.Labels);
                // An engine that is not the holder recorded the exit and left the state running for
                // the holder to decide: that decision is ours now (else nobody restarts it).
                var decision = !restoring && !recordOnly && LeftForTheHolder(s.Recorded)
                    ? await _restarts.DecideAsync(s, recorded).ConfigureAwait(false)
                    : RestartDecision.No;
                s.SetExited(recorded, restarting: decision.Restart);
                if (restoring || decision.Restart)
                {
                    await RestartOrRemoveAsync(s, recorded, restoring, decision).ConfigureAwait(false);
                }

                return;
            }

            detail = deleteFailure is null
                ? "exit status unknown: the task was gone before its exit was seen"
                : $"exit status unknown: the process is gone but its task could not be deleted ({deleteFailure}); the real status is recorded if containerd reports it later";
        }

        // The /tasks/oom may have been seen by an engine that is gone: it left the label (cleared at every start).
        bool oom = s.OomSeen || s.Recorded.OomKilled;
        var result = new RecordedExit(exit is null ? 255 : (int)exit.ExitStatus, exit?.ExitedAt ?? DateTime.UtcNow, oom, detail);
        await RecordAsync(s, result, source, restoring, deleteAfterRecord, recordOnly, current).ConfigureAwait(false);
    }

    /// <summary>
    /// Whether this exit may be written down: in a namespace the module manages, on a container
    /// it manages. A container made by another tool is only read (docker wait and ctr task wait
    /// change nothing either): its stopped task stays for its owner to delete.
    /// </summary>
    private bool Manages(ContainerState s) => _manages && s.Recorded.IsManaged;

    /// <summary>
    /// The record says an exit happened and the state is still running: an engine that was not
    /// the holder recorded it and left the restart decision to the holder. True only in the holder.
    /// </summary>
    private bool LeftForTheHolder(RecordedState recorded) =>
        _manages && recorded.IsManaged && _restarts.IsHolder && recorded.RecordsRunning;

    /// <summary>
    /// Records an exit already known (from finalisation or a restore) and acts on it. Every engine
    /// records; only the restart supervisor's holder decides a restart, from labels it re-reads.
    /// An engine that is not the holder leaves the recorded state alone when the policy may
    /// restart, so it never overwrites the holder's Restarting.
    /// <para>
    /// Every exit, late or not, is first held against the record containerd has now: one removed
    /// and created again since the run (another CreatedAt) is not written on, nor decided for (chaos
    /// seed 20261211: a supervisor resumed from SIGSTOP handled an exit 0.3 s after a Recreate and
    /// started the new container by the old one's policy). One read per exit (one already made since
    /// the exit is passed in); the write follows it on this queue, so only a process frozen between
    /// the two could still miss a Recreate.
    /// </para>
    /// </summary>
    /// <param name="current">The record as read since the exit already (a late exit's check, the look after a task someone else deleted); null: read here.</param>
    public async Task RecordAsync(ContainerState s, RecordedExit exit, string source, bool restoring = false, bool deleteTask = false, bool recordOnly = false, ContainerRecord? current = null)
    {
        bool manages = Manages(s);
        if (manages)
        {
            current ??= await ReadAfterExit.ReadAsync(s, s.Pid).ConfigureAwait(false);
            if (current is not null && !s.Record.IsSame(current.CreatedAt))
            {
                _late.Forsake(s, current, s.Pid, source);
                return;
            }

            if (current is not null)
            {
                // Decided from the record now: a manual stop another session has since cleared no longer holds.
                s.RefreshLabels(current.Labels);
            }
        }

        var decision = restoring || recordOnly || !manages ? RestartDecision.No : await _restarts.DecideAsync(s, exit, current).ConfigureAwait(false);
        Task? deleting = null;
        if (manages)
        {
            bool leaveState = !decision.Restart && !_restarts.IsHolder && !restoring && s.Recorded.WouldRestart(exit.ExitCode ?? 255, s.ManuallyStopped);
            try
            {
                s.RefreshLabels((await WriteExitAsync(s.Id, exit, leaveState || decision.Restart, s.Labels).ConfigureAwait(false)).Labels);
            }
            catch (ContainerdException e) when (e.Kind == ContainerdErrorKind.NotFound)
            {
                // Container deleted meanwhile: the waiters still get the exit.
            }
            catch (ContainerdException e)
            {
                _diagnostic(s.Id, $"could not record exit {exit.ExitCode}: {e.Message}");
            }

            if (deleteTask)
            {
                (deleting, exit) = await _deleter.DeleteConfirmedAsync(s, exit).ConfigureAwait(false);
            }
        }

        s.SetExited(exit, decision.Restart);
        _events.Publish(_namespace, s.Id, EventTypes.Exit, exit.ExitedAt,
            ("ExitCode", exit.ExitCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unknown"),
            ("OOMKilled", exit.OomKilled ? "true" : "false"),
            ("Source", source));

        if (deleting is not null)
        {
            // Waiters (a stop) have the exit; the rest of the delete (the shim's exit, its bundle) is this
            // queue's: no start, restart or removal here comes before containerd has let go of the task.
            await deleting.ConfigureAwait(false);
        }

        await RestartOrRemoveAsync(s, exit, restoring, decision).ConfigureAwait(false);
    }

    /// <summary>How long the write of an exit is retried while containerd is slow or restarting: the record is the one thing a stop must not lose.</summary>
    public static readonly TimeSpan RecordRetry = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Writes the exit fields, retrying what is transient. A burst of exits queues hundreds of
    /// task deletes (each a shim teardown) on the same connection; an update behind them can
    /// exceed its deadline, and a lost write is an exit nobody can read back (bench: 95 of 300).
    /// </summary>
    private Task<ContainerRecord> WriteExitAsync(string id, RecordedExit exit, bool leaveState, IReadOnlyDictionary<string, string> labels) =>
        TransientRetry.RunAsync(() => _store.RecordExitAsync(id, exit, leaveState: leaveState, labels: labels), RecordRetry,
            (e, pause) => _diagnostic(id, $"recording exit {exit.ExitCode} failed ({e.Kind}: {e.Message}); trying again in {pause.TotalMilliseconds:0} ms"));

    private async Task RestartOrRemoveAsync(ContainerState s, RecordedExit exit, bool restoring, RestartDecision decision)
    {
        if (!Manages(s))
        {
            return;
        }

        if (decision.Restart)
        {
            await _restarts.ScheduleAsync(s, decision).ConfigureAwait(false);
        }
        else if (restoring && s.Recorded.ShouldRestartOnRestore(exit.ExitCode ?? 255, s.ManuallyStopped))
        {
            await _restarts.RestartNowAsync(s, "restore", resetCount: true).ConfigureAwait(false);
        }
        else if (s.Recorded.AutoRemove && !(s.Recorded.WouldRestart(exit.ExitCode ?? 255, s.ManuallyStopped) && !_restarts.IsHolder))
        {
            await _autoRemove.RemoveAsync(s).ConfigureAwait(false);
        }
    }

}
