using System.Collections.Concurrent;
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
    /// <summary>How long a task delete is retried while containerd is unavailable: a restart of the daemon, not an outage.</summary>
    public static readonly TimeSpan UnavailableRetry = TimeSpan.FromSeconds(15);

    /// <summary>
    /// A task delete tears the shim down; with a hundred stops at once containerd took over 5 s
    /// for some (bench: 100 containers), and a delete cut short loses the exit status it carries.
    /// </summary>
    public static readonly TimeSpan DeleteDeadline = TimeSpan.FromSeconds(10);

    private readonly ContainerdClient _client;
    private readonly LabelStateStore _store;
    private readonly EngineEvents _events;
    private readonly string _namespace;
    private readonly bool _manages;
    private readonly RestartSupervisor _restarts;
    private readonly Action<string, string> _diagnostic;
    private readonly Action<ContainerState> _forget;

    /// <param name="manages">False in a namespace another manager owns: record in memory only, never delete or write.
    /// The same holds for a container the module does not manage (<see cref="StateLabels.IsManaged"/>) in any namespace.</param>
    /// <param name="diagnostic">(container id, message) for failures nobody awaits.</param>
    /// <param name="forget">Drops a container the engine no longer tracks (auto-remove).</param>
    public ExitRecorder(ContainerdClient client, LabelStateStore store, EngineEvents events, string @namespace, bool manages, RestartSupervisor restarts, Action<string, string> diagnostic, Action<ContainerState> forget)
    {
        _client = client;
        _store = store;
        _events = events;
        _namespace = @namespace;
        _manages = manages;
        _restarts = restarts;
        _diagnostic = diagnostic;
        _forget = forget;
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
                await CorrectAsync(s, pid, exit, source).ConfigureAwait(false);
            }

            return;
        }

        if (pid != 0 && s.Pid != 0 && pid != s.Pid)
        {
            return; // a stale exit of an earlier task
        }

        if (exit?.ExitedAt is DateTime at && s.RunNotBefore is DateTime started && at < started - ClockSlack)
        {
            // An exit from before this run started, of an init that had the same pid: stale.
            return;
        }

        if (await IsOvertakenAsync(s, pid, exit, source).ConfigureAwait(false))
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
            var (deleted, failure, running) = await DeleteTaskAsync(s.Id).ConfigureAwait(false);
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
            var t = await Try(() => client.GetTaskAsync(s.Id)).ConfigureAwait(false);
            exit = t is { Status: Containerd.TaskStatus.Stopped } ? new ExitInfo(t.ExitStatus, t.ExitedAt) : null;
        }

        if (exit is null)
        {
            // Someone else deleted the task: trust their record if it is of this run.
            var rec = await Try<ContainerRecord>(async () => await client.GetContainerAsync(s.Id)).ConfigureAwait(false);
            if (rec is not null && !s.IsSameRecord(rec.CreatedAt))
            {
                Forsake(s, rec, pid, source);
                return;
            }

            var recorded = rec is null ? null : RecordedExit.FromLabels(rec.Labels);
            if (recorded is not null && (s.StartedAt is null || recorded.ExitedAt >= s.StartedAt))
            {
                s.RefreshLabels(rec!.Labels);
                // An engine that is not the holder recorded the exit and left the state running for
                // the holder to decide: that decision is ours now (else nobody restarts it).
                var decision = !restoring && !recordOnly && LeftForTheHolder(s.Labels)
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
        bool oom = s.OomSeen || s.Labels.Get(StateLabels.OomKilled) == "true";
        var result = new RecordedExit(exit is null ? 255 : (int)exit.ExitStatus, exit?.ExitedAt ?? DateTime.UtcNow, oom, detail);
        await RecordAsync(s, result, source, restoring, deleteAfterRecord, recordOnly).ConfigureAwait(false);
    }

    /// <summary>
    /// Whether this exit may be written down: in a namespace the module manages, on a container
    /// it manages. A container made by another tool is only read (docker wait and ctr task wait
    /// change nothing either): its stopped task stays for its owner to delete.
    /// </summary>
    private bool Manages(ContainerState s) => _manages && StateLabels.IsManaged(s.Labels);

    /// <summary>
    /// The record says an exit happened and the state is still running: an engine that was not
    /// the holder recorded it and left the restart decision to the holder. True only in the holder.
    /// </summary>
    private bool LeftForTheHolder(IReadOnlyDictionary<string, string> labels) =>
        _manages && StateLabels.IsManaged(labels) && _restarts.IsHolder && labels.Get(StateLabels.State) == StateLabels.StateRunning;

    /// <summary>containerd's and the kernel's clocks against ours: an exit this much before a start still counts as of that run.</summary>
    private static readonly TimeSpan ClockSlack = TimeSpan.FromMilliseconds(50);

    /// <summary>An exit seen this long after it happened may have been recorded, and the container started again, by another session meanwhile.</summary>
    private static readonly TimeSpan LateExit = TimeSpan.FromSeconds(1);

    /// <summary>
    /// An exit seen late (this process was stopped or frozen, or its event stream backed up) whose
    /// container containerd now runs as a newer task: another session recorded that exit and
    /// started the container again meanwhile, and writing the exit now would record a running
    /// container as stopped (chaos seeds 4646 and 8484, a supervisor frozen with SIGSTOP). Asked of
    /// containerd only for late exits, so a stop's own exit costs no extra call.
    /// </summary>
    private async Task<bool> IsOvertakenAsync(ContainerState s, uint pid, ExitInfo? exit, string source)
    {
        if (!_manages || pid == 0 || exit?.ExitedAt is not DateTime at || DateTime.UtcNow - at < LateExit)
        {
            return false;
        }

        var rec = await Try<ContainerRecord>(async () => await _client.GetContainerAsync(s.Id).ConfigureAwait(false)).ConfigureAwait(false);
        if (rec is not null && !s.IsSameRecord(rec.CreatedAt))
        {
            Forsake(s, rec, pid, source);
            return true;
        }

        var task = await Try(() => _client.GetTaskAsync(s.Id)).ConfigureAwait(false);
        if (task is null || task.Pid == pid || task.Status == Containerd.TaskStatus.Stopped)
        {
            return false;
        }

        _diagnostic(s.Id, $"an exit of pid {pid} seen {(DateTime.UtcNow - at).TotalSeconds:0.#} s late ({source}) was not recorded: containerd runs a newer task of the container (pid {task.Pid})");
        if (rec is not null)
        {
            s.RefreshLabels(rec.Labels);
        }

        return true;
    }

    /// <summary>
    /// The container this state followed was removed and another of the same id created since (a
    /// record with another CreatedAt): the exit is the old container's and none of the new one's
    /// business. Writing it would give a container never started an exit, and a restart policy a
    /// reason to start it (chaos seed 20261210: exit 255 recorded on a container re-created
    /// without -Start). The state is forgotten, so the new record is loaded afresh.
    /// </summary>
    private void Forsake(ContainerState s, ContainerRecord rec, uint pid, string source)
    {
        _diagnostic(s.Id, $"an exit of pid {pid} ({source}) was not recorded: the container was removed and created again (at {rec.CreatedAt:O}) since that run");
        _forget(s);
    }

    /// <summary>
    /// Records an exit already known (from finalisation or a restore) and acts on it. Every engine
    /// records; only the restart supervisor's holder decides a restart, from labels it re-reads.
    /// An engine that is not the holder leaves the recorded state alone when the policy may
    /// restart, so it never overwrites the holder's Restarting.
    /// <para>
    /// Every exit, late or not, is first held against the record containerd has now: one removed
    /// and created again since the run (another CreatedAt) is not written on, nor decided for (chaos
    /// seed 20261211: a supervisor resumed from SIGSTOP handled an exit 0.3 s after a Recreate and
    /// started the new container by the old one's policy). One read per exit; the write follows it
    /// on this queue, so only a process frozen between the two could still miss a Recreate.
    /// </para>
    /// </summary>
    public async Task RecordAsync(ContainerState s, RecordedExit exit, string source, bool restoring = false, bool deleteTask = false, bool recordOnly = false)
    {
        bool manages = Manages(s);
        ContainerRecord? current = null;
        if (manages)
        {
            current = await Try<ContainerRecord>(async () => await _client.GetContainerAsync(s.Id).ConfigureAwait(false)).ConfigureAwait(false);
            if (current is not null && !s.IsSameRecord(current.CreatedAt))
            {
                Forsake(s, current, s.Pid, source);
                return;
            }
        }

        var decision = restoring || recordOnly || !manages ? RestartDecision.No : await _restarts.DecideAsync(s, exit, current).ConfigureAwait(false);
        Task? deleting = null;
        if (manages)
        {
            bool leaveState = !decision.Restart && !_restarts.IsHolder && !restoring
                && RestartManager.WouldRestart(s.Labels, exit.ExitCode ?? 255, s.ManuallyStopped);
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
                (deleting, exit) = await DeleteConfirmedAsync(s, exit).ConfigureAwait(false);
            }
        }

        s.SetExited(exit, decision.Restart);
        _events.Publish(_namespace, s.Id, EventTypes.Exit, exit.ExitedAt,
            ("ExitCode", exit.ExitCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unknown"),
            ("OOMKilled", exit.OomKilled ? "true" : "false"),
            ("Source", source));

        if (deleting is not null)
        {
            // Waiters (a stop) have the exit; the rest of the delete (the shim's own exit, its
            // bundle) is still this queue's, so no start, restart or removal of the container
            // in this engine comes before containerd has let go of the task.
            await deleting.ConfigureAwait(false);
        }

        await RestartOrRemoveAsync(s, exit, restoring, decision).ConfigureAwait(false);
    }

    /// <summary>
    /// Starts the task delete and returns once containerd confirms it: its <c>/tasks/delete</c>
    /// event (the shim has flushed the output, run <c>runc delete</c> and unmounted) or the
    /// delete's reply, whichever comes first. The delete itself is returned for the caller to
    /// await before anything else on the queue. A delete that failed confirms nothing.
    /// </summary>
    private async Task<(Task Deleting, RecordedExit Exit)> DeleteConfirmedAsync(ContainerState s, RecordedExit exit)
    {
        var seen = s.ExpectDelete(s.Pid);
        var deleting = DeleteTaskAsync(s.Id);
        HoldProcessExitFor(deleting);
        if (await Task.WhenAny(deleting, seen).ConfigureAwait(false) == seen)
        {
            return (deleting, exit with { DeleteConfirmedBy = DeleteConfirmation.Event });
        }

        s.ForgetDelete();
        var (_, failure, _) = await deleting.ConfigureAwait(false);
        return (deleting, exit with { DeleteConfirmedBy = failure is null ? DeleteConfirmation.Reply : DeleteConfirmation.None });
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

    /// <summary>
    /// The real status of an exit first recorded as unknown (255 with a Detail), reported later by
    /// the shim once it answers again (its /tasks/exit or /tasks/delete, or a task delete). Only the
    /// record changes: waiters were woken by the first record and are not woken again, and no
    /// restart policy is consulted (it already was, with the unknown exit).
    /// </summary>
    private async Task CorrectAsync(ContainerState s, uint pid, ExitInfo exit, string source)
    {
        bool manages = Manages(s);
        if (manages)
        {
            // The task the hung shim kept: delete it now that the shim answers (NotFound: already gone).
            await DeleteTaskAsync(s.Id, retryUnavailable: false).ConfigureAwait(false);
        }

        var old = s.LastExit!;
        var corrected = new RecordedExit((int)exit.ExitStatus, exit.ExitedAt ?? old.ExitedAt, old.OomKilled);
        if (manages)
        {
            // The record first, then memory: a reader who sees the corrected exit here finds it in
            // the labels too. Nothing else changes this state meanwhile: this runs on its queue.
            try
            {
                s.RefreshLabels((await _store.RecordExitAsync(s.Id, corrected, leaveState: s.Status != ContainerStatus.Stopped).ConfigureAwait(false)).Labels);
            }
            catch (ContainerdException e)
            {
                _diagnostic(s.Id, $"could not record the corrected exit {corrected.ExitCode}: {e.Message}");
            }
        }

        if (!s.CorrectExit(pid, corrected))
        {
            return;
        }

        _diagnostic(s.Id, $"exit of pid {pid} recorded as {old.ExitCode} (unknown) corrected to {corrected.ExitCode} from {source}");
        _events.Publish(_namespace, s.Id, EventTypes.ExitCorrected, corrected.ExitedAt,
            ("ExitCode", corrected.ExitCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unknown"),
            ("Was", old.ExitCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unknown"),
            ("Source", source));
    }

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
        else if (restoring && RestartManager.ShouldRestartOnRestore(s.Labels, exit.ExitCode ?? 255, s.ManuallyStopped))
        {
            await _restarts.RestartNowAsync(s, "restore", resetCount: true).ConfigureAwait(false);
        }
        else if (s.Labels.Get(StateLabels.AutoRemove) == "true" && !(RestartManager.WouldRestart(s.Labels, exit.ExitCode ?? 255, s.ManuallyStopped) && !_restarts.IsHolder))
        {
            await Try(() => _client.DeleteContainerWithSnapshotAsync(s.Id)).ConfigureAwait(false);
            DefaultLogs.Delete(_client.Address, _client.Namespace, s.Id);
            _forget(s);
        }
    }

    private static readonly ConcurrentDictionary<Task, bool> InFlightDeletes = new();
    private static int _processExitHeld;

    /// <summary>
    /// A stop returns before its task delete has finished: a `pwsh -c Stop-Container` must not
    /// end the process, and cut the delete's call short (containerd then cancels its teardown
    /// midway), while one is in flight. The process's exit waits for them, at most
    /// <see cref="DeleteDeadline"/>.
    /// </summary>
    private static void HoldProcessExitFor(Task deleting)
    {
        if (Interlocked.Exchange(ref _processExitHeld, 1) == 0)
        {
            AppDomain.CurrentDomain.ProcessExit += (_, _) =>
            {
                try
                {
                    Task.WhenAll(InFlightDeletes.Keys).Wait(DeleteDeadline);
                }
                catch (AggregateException)
                {
                    // a failed delete was said where it failed; the process may go
                }
            };
        }

        InFlightDeletes[deleting] = true;
        _ = deleting.ContinueWith(t => InFlightDeletes.TryRemove(t, out _), TaskScheduler.Default);
    }

    /// <returns>The exit status the delete (or a wait) reported, if any; why the task could not be
    /// deleted, if it could not; and whether containerd still says the task runs.</returns>
    private async Task<(ExitInfo? Exit, string? Failure, bool Running)> DeleteTaskAsync(string id, bool retryUnavailable = true)
    {
        var client = _client;
        ExitInfo? waited = null;
        var unavailableUntil = retryUnavailable ? DateTime.UtcNow + UnavailableRetry : DateTime.MinValue;
        var backoff = TimeSpan.FromMilliseconds(100);
        for (int attempt = 0; attempt < 3; attempt++)
        {
            try
            {
                return (await client.DeleteTaskAsync(id, deadline: DeleteDeadline).ConfigureAwait(false), null, false);
            }
            catch (ContainerdException e) when (e.Kind == ContainerdErrorKind.Unavailable && DateTime.UtcNow < unavailableUntil)
            {
                // containerd restarting (the pidfd saw the exit while it was down): only its
                // answer carries the real exit status, so wait for it to come back.
                attempt--;
                await Task.Delay(backoff).ConfigureAwait(false);
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromSeconds(1).Ticks));
            }
            catch (ContainerdException e) when (e.Kind == ContainerdErrorKind.NotFound)
            {
                return (waited, null, false);
            }
            catch (ContainerdException e) when (IsStillRunning(e))
            {
                // The pidfd saw the exit before the shim reaped it: let the shim catch up.
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                waited = await Try<ExitInfo>(async () => await client.WaitAsync(id, cts.Token)).ConfigureAwait(false) ?? waited;
            }
            catch (ContainerdException e)
            {
                _diagnostic(id, $"task delete failed: {e.Message}");
                return (waited, $"{e.Kind}: {e.Message}", false);
            }
        }

        if (waited is null && await Try(() => client.GetTaskAsync(id)).ConfigureAwait(false) is { Status: not Containerd.TaskStatus.Stopped })
        {
            return (null, "the task stayed running", true);
        }

        return (waited, waited is null ? "the task stayed running" : null, false);
    }

    /// <summary>containerd 1.6 answers a delete of a not-yet-reaped process with Unknown "cannot delete a running process".</summary>
    private static bool IsStillRunning(ContainerdException e) =>
        e.Kind == ContainerdErrorKind.FailedPrecondition
        || (e.Kind == ContainerdErrorKind.Unknown && e.Message.Contains("running", StringComparison.OrdinalIgnoreCase));

    private static async Task<T?> Try<T>(Func<Task<T?>> call) where T : class
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (ContainerdException)
        {
            return null;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    private static async Task Try(Func<Task> call)
    {
        try
        {
            await call().ConfigureAwait(false);
        }
        catch (ContainerdException)
        {
        }
    }
}
