using System.Globalization;
using PSContainerd.Containerd;

namespace PSContainerd.Engine;

/// <summary>
/// Restore-ContainerState's engine side (moby daemon.restore, with state kept in labels): for one
/// container, compares what the labels recorded with what containerd reports and acts — a dead
/// task is deleted and its exit recorded (restart policy applied), a live one is watched again or
/// stopped, a stop whose owner died is resumed where its deadline says, a pending restart whose
/// owner died is carried out. The look and the bookkeeping run on the container's serial queue;
/// a stop runs after it (a stop finalises its exit on that same queue).
/// </summary>
internal sealed class Reconciler
{
    /// <summary>A stop with the engine's semantics (its queue, intent and escalation).</summary>
    public delegate Task<StopResult> StopContainer(string id, int? signal, int? timeoutSeconds, CancellationToken ct);

    private readonly ContainerdClient _client;
    private readonly ExitRecorder _exits;
    private readonly RestartSupervisor _restarts;
    private readonly LabelStateStore _store;
    private readonly bool _manages;
    private readonly Func<string, ContainerState> _stateOf;
    private readonly Func<ContainerState, CancellationToken, Task<ContainerRecord>> _recordOf;
    private readonly StopContainer _stop;

    /// <param name="manages">False in a namespace another manager owns: nothing is restarted there.</param>
    /// <param name="stateOf">The engine's state for an id (its registry).</param>
    /// <param name="recordOf">The container's record; a container that is gone is forgotten and reported as not found.</param>
    public Reconciler(ContainerdClient client, ExitRecorder exits, RestartSupervisor restarts, LabelStateStore store, bool manages, Func<string, ContainerState> stateOf, Func<ContainerState, CancellationToken, Task<ContainerRecord>> recordOf, StopContainer stop)
    {
        _client = client;
        _exits = exits;
        _restarts = restarts;
        _store = store;
        _manages = manages;
        _stateOf = stateOf;
        _recordOf = recordOf;
        _stop = stop;
    }

    /// <param name="adopt">Also take over a container the module does not manage; without it such a container is only reported.</param>
    public async Task<RestoreResult> RestoreAsync(string id, bool stopRunning, bool adopt, CancellationToken ct)
    {
        var s = _stateOf(id);
        var plan = await s.Enqueue(() => InspectAsync(s, stopRunning, adopt, ct)).WaitAsync(ct).ConfigureAwait(false);
        return plan.Then is null ? plan.Result : await plan.Then(ct).ConfigureAwait(false);
    }

    /// <summary>
    /// A container the module did not make (no pscontainerd/ labels), in a namespace it manages:
    /// reported as containerd has it, nothing deleted or written. Null when it is managed, or is
    /// adopted now (<paramref name="adopt"/>: the adoption mark written, the record returned).
    /// </summary>
    private async Task<(Plan? Report, ContainerRecord Record)> ForeignAsync(ContainerState s, ContainerRecord rec, bool adopt, CancellationToken ct)
    {
        if (!_manages || StateLabels.IsManaged(rec.Labels))
        {
            return (null, rec);
        }

        if (adopt)
        {
            return (null, await _store.AdoptAsync(s.Id, ct).ConfigureAwait(false));
        }

        var task = await _client.GetTaskAsync(s.Id, ct).ConfigureAwait(false);
        int? code = task is { Status: Containerd.TaskStatus.Stopped } ? (int)task.ExitStatus : null;
        string what = task is null ? "no task" : code is int c ? $"its task exited with code {c}" : $"its task is {task.Status.ToString().ToLowerInvariant()}, pid {task.Pid}";
        return (new Plan(Result(s, task?.Status.ToString() ?? "None", RestoreAction.Unchanged, code,
            $"not managed by PSContainerd (no {StateLabels.Prefix} labels: made by another tool): {what}; only reported, nothing changed (-Adopt takes it over)")), rec);
    }

    /// <summary>What was found, and the stop still to run once off the queue.</summary>
    private sealed record Plan(RestoreResult Result, Func<CancellationToken, Task<RestoreResult>>? Then = null);

    private async Task<Plan> InspectAsync(ContainerState s, bool stopRunning, bool adopt, CancellationToken ct)
    {
        var record = await _recordOf(s, ct).ConfigureAwait(false);
        s.BindRecord(record.CreatedAt);
        var (report, rec) = await ForeignAsync(s, record, adopt, ct).ConfigureAwait(false);
        if (report is not null)
        {
            return report;
        }

        TaskInfo? task;
        // The look at the task and the delete below under the container's lock across processes:
        // a start by another session (which takes it) is never between them, so the delete cannot
        // reach a task that start is creating. An engine that does not manage makes no delete and
        // takes no lock.
        using (var held = _manages ? await _restarts.ContainerLock.AcquireAsync(s.Id, ContainerLock.DefaultTimeout, ct).ConfigureAwait(false) : null)
        {
            task = await _client.GetTaskAsync(s.Id, ct).ConfigureAwait(false);
            if (task is null && held is not null)
            {
                // containerd restarted while a task create was in flight can hold a task it neither
                // lists nor reports (its shim lives on, and every create answers "already exists"):
                // a delete reaches it; for a container with no task at all it answers NotFound.
                // Without the lock it is left to the next start, which deletes it when refused.
                await _client.TryDeleteTaskAsync(s.Id, ct).ConfigureAwait(false);
            }
        }

        bool wasLoaded = s.Loaded;
        var labels = rec.Labels;
        bool manual = (wasLoaded && s.ManuallyStopped) || RestartManager.IsManuallyStopped(labels);
        s.RefreshLabels(labels);
        if (manual)
        {
            s.MarkManuallyStopped();
        }

        s.MarkLoaded();

        string taskStatus = task?.Status.ToString() ?? "None";
        var intent = StopIntent.Parse(labels.Get(StateLabels.StopIntent));
        var startedAt = StateLabels.ParseTime(labels.Get(StateLabels.StartedAt));
        string? owner = intent is null ? null : StopOwner(intent, s);

        if (task is not null && task.Status != Containerd.TaskStatus.Stopped)
        {
            return Live(s, task, wasLoaded, startedAt, intent, owner, stopRunning, taskStatus);
        }

        if (task is not null)
        {
            // The init process exited and nobody finalised it: delete the task, record, apply the policy.
            if (!s.IsLive)
            {
                s.SetRunning(task.Pid, startedAt);
            }

            var exit = new ExitInfo(task.ExitStatus, task.ExitedAt, task.Pid);
            if (intent is not null)
            {
                s.MarkManuallyStopped();
                await _exits.FinalizeAsync(s, task.Pid, exit, "restore").ConfigureAwait(false);
                return new Plan(Result(s, taskStatus, RestoreAction.ResumedStop, s.LastExit?.ExitCode,
                    $"a stop by {owner ?? "a process"} was pending; the process had already exited: exit recorded, no restart"));
            }

            await _exits.FinalizeAsync(s, task.Pid, exit, "restore", restoring: !wasLoaded).ConfigureAwait(false);
            return new Plan(AfterExit(s, taskStatus, "the task had exited while nothing watched it"));
        }

        if (wasLoaded && s.IsLive)
        {
            // Watched here as running, but the task is gone (deleted by someone, or a dead shim cleaned up).
            await _exits.FinalizeAsync(s, 0, null, "restore").ConfigureAwait(false);
            return new Plan(AfterExit(s, taskStatus, "the task was gone"));
        }

        string? recordedState = labels.Get(StateLabels.State);
        if (recordedState == StateLabels.StateRunning)
        {
            // The labels say running, containerd has no task: a host reboot, or containerd lost it.
            s.SetRunning(0, startedAt);
            bool stopAsked = intent is not null;
            if (stopAsked)
            {
                s.MarkManuallyStopped();
            }

            await _exits.FinalizeAsync(s, 0, null, "restore", restoring: !stopAsked).ConfigureAwait(false);
            const string unknown = "the labels say running but containerd has no task (host reboot, or containerd lost it): exit 255 recorded, the real exit status is unknown";
            return new Plan(stopAsked
                ? Result(s, taskStatus, RestoreAction.ResumedStop, s.LastExit?.ExitCode, $"a stop by {owner ?? "a process"} was pending; {unknown}")
                : AfterExit(s, taskStatus, unknown));
        }

        var recorded = RecordedExit.FromLabels(labels);
        if (recordedState == StateLabels.StateRestarting)
        {
            if (s.HasPendingRestart)
            {
                return new Plan(Result(s, taskStatus, RestoreAction.Unchanged, recorded?.ExitCode, $"restart pending, due {DueText(labels)}"));
            }

            s.SetNotRunning(ContainerStatus.Restarting, recorded);
            if (s.ManuallyStopped)
            {
                await _restarts.CancelAsync(s).ConfigureAwait(false);
                return new Plan(Result(s, taskStatus, RestoreAction.Unchanged, recorded?.ExitCode, "a restart was pending but the container was stopped by hand: left stopped"));
            }

            int count = RestartManager.NextCountOf(labels);
            bool restarted = await _restarts.RestartNowAsync(s, "restore", resetCount: false).ConfigureAwait(false);
            return new Plan(restarted
                ? Result(s, taskStatus, RestoreAction.Restarted, recorded?.ExitCode, $"the restart that was pending (due {labels.Get(StateLabels.RestartDue) ?? "?"}) was carried out; restart count {count}")
                : Result(s, taskStatus, RestoreAction.RecordedExit, recorded?.ExitCode, "the pending restart was not carried out (it failed, or a stop by hand came first: see the engine's diagnostics); left stopped"));
        }

        if (wasLoaded)
        {
            return new Plan(Result(s, taskStatus, RestoreAction.Unchanged, s.LastExit?.ExitCode ?? recorded?.ExitCode, Describe(recordedState, s.LastExit ?? recorded)));
        }

        // First look at a container that is not running. Only one that ran before (a recorded
        // state) is started by its policy, as dockerd does at its start. (The state's Created
        // means "task created, not started": a container that never ran has no task, so Stopped.)
        s.SetNotRunning(ContainerStatus.Stopped, recorded);
        if (recordedState is not null && recorded is not null && _manages && RestartManager.ShouldRestartOnRestore(labels, recorded.ExitCode ?? 255, s.ManuallyStopped)
            && await _restarts.RestartNowAsync(s, "restore", resetCount: true).ConfigureAwait(false))
        {
            return new Plan(Result(s, taskStatus, RestoreAction.Restarted, recorded.ExitCode,
                $"restart policy {RestartManager.PolicyOf(labels)} starts it again{(s.ManuallyStopped ? " (always: the host restarted since its manual stop, as dockerd starts them at its start)" : string.Empty)}"));
        }

        return new Plan(Result(s, taskStatus, RestoreAction.Unchanged, recorded?.ExitCode, Describe(recordedState, recorded)));
    }

    private Plan Live(ContainerState s, TaskInfo task, bool wasLoaded, DateTime? startedAt, StopIntent? intent, string? owner, bool stopRunning, string taskStatus)
    {
        bool paused = task.Status.IsPaused();
        bool watched = wasLoaded && s.IsLive && s.Pid == task.Pid;
        if (watched)
        {
            s.SetPaused(paused);
        }
        else
        {
            // Paused stays paused: restore only watches it again.
            s.SetRunning(task.Pid, startedAt ?? DateTime.UtcNow, paused, created: task.Status == Containerd.TaskStatus.Created);
        }

        if (intent is not null && owner is not null)
        {
            return new Plan(Result(s, taskStatus, RestoreAction.ResumedStop, null, string.Empty), ct => ResumeStopAsync(s.Id, intent, owner, taskStatus, ct));
        }

        if (intent is not null)
        {
            return new Plan(Result(s, taskStatus, RestoreAction.Unchanged, null, $"a stop by process {intent.OwnerPid} is in progress"));
        }

        if (stopRunning)
        {
            return new Plan(Result(s, taskStatus, RestoreAction.Stopped, null, string.Empty), async ct =>
            {
                var r = await _stop(s.Id, null, null, ct).ConfigureAwait(false);
                return Result(s, taskStatus, RestoreAction.Stopped, r.ExitCode, StopDetail("stopped (-StopRunning)", r)) with { Stop = r };
            });
        }

        string what = $"{(paused ? "paused (left paused)" : task.Status == Containerd.TaskStatus.Created ? "created, not started" : "running")}, pid {task.Pid}";
        return new Plan(watched
            ? Result(s, taskStatus, RestoreAction.Unchanged, null, what + ", already watched")
            : Result(s, taskStatus, RestoreAction.Reattached, null, what + ", watched again"));
    }

    /// <summary>Resumes an interrupted escalation: the remaining grace period, or SIGKILL at once when the deadline passed.</summary>
    private async Task<RestoreResult> ResumeStopAsync(string id, StopIntent intent, string owner, string taskStatus, CancellationToken ct)
    {
        var now = DateTime.UtcNow;
        bool passed = intent.Deadline is DateTime d && d <= now;
        int left = intent.Deadline is DateTime dl ? (int)Math.Max(0, Math.Ceiling((dl - now).TotalSeconds)) : -1;
        var r = passed
            ? await _stop(id, Signals.SIGKILL, 0, ct).ConfigureAwait(false)
            : await _stop(id, intent.Signal, left, ct).ConfigureAwait(false);
        string how = passed
            ? $"its deadline {StateLabels.FormatTime(intent.Deadline!.Value)} had passed: SIGKILL"
            : left < 0 ? $"no deadline: {Signals.Name(intent.Signal)} again, never forced" : $"{Signals.Name(intent.Signal)} again, {left} s of grace left";
        var s = _stateOf(id);
        return Result(s, taskStatus, RestoreAction.ResumedStop, r.ExitCode, StopDetail($"the stop by {owner} resumed; {how}", r)) with { Stop = r };
    }

    private static string StopDetail(string prefix, StopResult r) =>
        r.Outcome == StopOutcome.Failed
            ? $"{prefix}; the stop failed: {r.Error}"
            : $"{prefix}; {r.Outcome}, escalation {r.Escalation}, exit code {r.ExitCode?.ToString(CultureInfo.InvariantCulture) ?? "unknown"}";

    private static RestoreResult AfterExit(ContainerState s, string taskStatus, string why)
    {
        var exit = s.LastExit;
        string code = exit?.ExitCode?.ToString(CultureInfo.InvariantCulture) ?? "unknown";
        if (s.IsRemoved)
        {
            return Result(s, taskStatus, RestoreAction.RecordedExit, exit?.ExitCode, $"{why}: exit code {code} recorded; removed (auto-remove)");
        }

        if (s.IsLive)
        {
            return Result(s, taskStatus, RestoreAction.Restarted, exit?.ExitCode, $"{why}: exit code {code} recorded; restarted by policy {RestartManager.PolicyOf(s.Labels)}");
        }

        if (s.Status == ContainerStatus.Restarting)
        {
            return Result(s, taskStatus, RestoreAction.Restarted, exit?.ExitCode, $"{why}: exit code {code} recorded; restart scheduled after {s.Restarts.Backoff.TotalMilliseconds:0} ms");
        }

        return Result(s, taskStatus, RestoreAction.RecordedExit, exit?.ExitCode, $"{why}: exit code {code} recorded{(exit?.OomKilled == true ? " (OOM-killed)" : string.Empty)}");
    }

    /// <summary>When the pending restart comes: as recorded, or, beyond the longest backoff (a clock step, a hand-set label), when the supervisor carries it out instead.</summary>
    private static string DueText(IReadOnlyDictionary<string, string> labels)
    {
        if (StateLabels.ParseTime(labels.Get(StateLabels.RestartDue)) is not DateTime due)
        {
            return "soon";
        }

        var at = RestartManager.ClampDue(due, DateTime.UtcNow, out bool clamped);
        return clamped ? $"{at:O} (recorded as {due:O}, beyond the longest backoff)" : labels.Get(StateLabels.RestartDue)!;
    }

    private static string Describe(string? recordedState, RecordedExit? exit) =>
        recordedState is null && exit is null ? "created, never started"
        : exit?.ExitCode is int c ? $"stopped, exit code {c} recorded"
        : "stopped";

    /// <summary>
    /// Who is doing the recorded stop, when that one is gone: null while its owner lives. The
    /// owner is this process when a stop is in flight here; another process while one with the
    /// same pid and start time runs (a pid reused since is not the owner).
    /// </summary>
    internal static string? StopOwner(StopIntent intent, ContainerState s)
    {
        if (intent.Owner == ProcessIdentity.Current() || (intent.Owner.StartTicks is null && intent.OwnerPid == Environment.ProcessId))
        {
            return s.Stop is null ? "this process (no longer in flight)" : null;
        }

        return intent.Owner.IsAlive ? null : $"process {intent.OwnerPid} (gone)";
    }

    private static RestoreResult Result(ContainerState s, string taskStatus, RestoreAction action, int? exitCode, string detail) => new()
    {
        Id = s.Id,
        TaskStatus = taskStatus,
        Action = action,
        ExitCode = exitCode,
        Detail = detail,
    };
}
