using System.Collections.Concurrent;
using System.Globalization;
using PSContainerd.Containerd;

namespace PSContainerd.Engine;

/// <summary>
/// Carries out restart policies for one (socket, namespace), and only while this engine holds the
/// supervisor lock: every engine records exits, one restarts. Before every restart it re-reads the
/// container's labels from containerd and leaves alone a container stopped by hand (by any
/// process), one whose policy no longer asks for it, and one someone already started. Every step
/// runs on the container's queue. Disposing cancels the pending restarts and gives the duty up.
/// </summary>
internal sealed class RestartSupervisor : IDisposable
{
    /// <summary>Starts a container's task on its queue: (state, manual start, restart count).</summary>
    public delegate Task StartTask(ContainerState s, bool manual, int restartCount, CancellationToken ct);

    private readonly ContainerdClient _client;
    private readonly LabelStateStore _store;
    private readonly EngineEvents _events;
    private readonly string _namespace;
    private readonly StartTask _start;
    private readonly Action<string, string> _diagnostic;
    private readonly SupervisorLock? _lock;
    private readonly ContainerLock _containerLock;
    private readonly ConcurrentDictionary<ContainerState, CancellationTokenSource> _pending = new();
    private readonly CancellationTokenSource _disposed = new();

    public RestartSupervisor(ContainerdClient client, LabelStateStore store, EngineEvents events, string @namespace, StartTask start, Action<string, string> diagnostic, SupervisorLock? supervisorLock, ContainerLock containerLock)
    {
        _containerLock = containerLock;
        _client = client;
        _store = store;
        _events = events;
        _namespace = @namespace;
        _start = start;
        _diagnostic = diagnostic;
        _lock = supervisorLock;
    }

    /// <summary>Whether this engine holds the restart duty now.</summary>
    public bool IsHolder => _lock?.IsHeld == true && !_disposed.IsCancellationRequested;

    public SupervisorLock? Lock => _lock;

    /// <summary>The cross-process lock a restart holds from its last label read until its task runs.</summary>
    public ContainerLock ContainerLock => _containerLock;

    /// <summary>
    /// What the policy says about <paramref name="exit"/>, decided from the labels as containerd
    /// holds them now (another process may have stopped the container by hand). "No" unless this
    /// engine holds the duty. On the container's queue.
    /// </summary>
    /// <param name="current">The record as the caller has just read it, if it has: no second read.</param>
    public async Task<RestartDecision> DecideAsync(ContainerState s, RecordedExit exit, ContainerRecord? current = null)
    {
        if (!IsHolder || s.ManuallyStopped || !RestartManager.WouldRestart(s.Labels, exit.ExitCode ?? 255, false))
        {
            return RestartDecision.No;
        }

        try
        {
            var rec = current ?? await _client.GetContainerAsync(s.Id).ConfigureAwait(false);
            if (!s.IsSameRecord(rec.CreatedAt))
            {
                // Removed and created again since the run that exited: the new container's first run
                // is its owner's to start, never this exit's restart (chaos seed 20261211).
                _diagnostic(s.Id, $"restart decision: the container was created again (at {rec.CreatedAt:O}, was {s.RecordCreatedAt:O}) since the run that exited; no restart");
                return RestartDecision.No;
            }

            // A state that had not read its record yet follows this one from now on.
            s.BindRecord(rec.CreatedAt);
            s.RefreshLabels(rec.Labels);
        }
        catch (ContainerdException e)
        {
            _diagnostic(s.Id, $"restart decision: cannot re-read the labels ({e.Message}); no restart");
            return RestartDecision.No;
        }

        var labels = s.Labels;
        var ranFor = s.StartedAt is DateTime started && exit.ExitedAt is DateTime ended ? ended - started : TimeSpan.Zero;
        return s.Restarts.ShouldRestart(RestartManager.PolicyOf(labels), exit.ExitCode ?? 255, s.ManuallyStopped || RestartManager.IsManuallyStopped(labels), RestartManager.CountOf(labels), ranFor);
    }

    /// <summary>Enters Restarting (recorded in the labels) and restarts after the decided backoff unless cancelled first. On the container's queue.</summary>
    public async Task ScheduleAsync(ContainerState s, RestartDecision decision)
    {
        var due = DateTime.UtcNow + decision.After;
        var cts = Pend(s);
        try
        {
            s.RefreshLabels((await _store.RecordRestartingAsync(s.Id, due).ConfigureAwait(false)).Labels);
        }
        catch (ContainerdException e)
        {
            _diagnostic(s.Id, $"could not record the pending restart: {e.Message}");
        }

        _events.Publish(_namespace, s.Id, EventTypes.Restarting, null, ("Backoff", $"{decision.After.TotalMilliseconds:0} ms"));
        _ = WaitThenRestartAsync(s, due, cts);
    }

    /// <summary>A restart a dead holder left pending (labels say restarting): carried out when due, and no later than the longest backoff from now.</summary>
    public void ResumePending(ContainerState s, DateTime due)
    {
        var at = RestartManager.ClampDue(due, DateTime.UtcNow, out bool clamped);
        if (clamped)
        {
            _diagnostic(s.Id, $"the restart recorded as due at {due:O} is further away than the longest backoff ({RestartManager.MaxBackoff.TotalSeconds:0} s; a clock step or a hand-set label): carried out at {at:O} instead");
        }

        _ = WaitThenRestartAsync(s, at, Pend(s));
    }

    /// <summary>Cancels a pending restart, leaving the container stopped by hand; no signal is sent. On the container's queue.</summary>
    public async Task CancelAsync(ContainerState s)
    {
        CancelPending(s);
        s.MarkManuallyStopped();
        try
        {
            s.RefreshLabels((await _store.Write(s.Id, CancellationToken.None,
                (StateLabels.ManuallyStopped, "true"),
                (StateLabels.ContainerdExplicitlyStopped, "true"),
                (StateLabels.RestartDue, null),
                (StateLabels.State, StateLabels.StateStopped)).ConfigureAwait(false)).Labels);
        }
        catch (ContainerdException e)
        {
            _diagnostic(s.Id, $"could not record the cancelled restart: {e.Message}");
        }

        s.SetStopped();
    }

    /// <summary>Cancels the restart waiting out its backoff, if any; true when there was one.</summary>
    public bool CancelPending(ContainerState s)
    {
        var cts = s.TakePendingRestart();
        if (cts is null)
        {
            return false;
        }

        _pending.TryRemove(new KeyValuePair<ContainerState, CancellationTokenSource>(s, cts));
        cts.Cancel();
        return true;
    }

    /// <summary>
    /// A restart decided by restore (Restore-ContainerState, asked for by hand), at once and without
    /// backoff. With <paramref name="resetCount"/> it is a fresh start (count 0, manual stop
    /// cleared): moby's restore starts containers with a reset restart manager. Without it, it is
    /// the restart a dead process had pending: counted like any policy restart. On the container's queue.
    /// </summary>
    public async Task<bool> RestartNowAsync(ContainerState s, string source, bool resetCount)
    {
        CancelPending(s);
        bool stoppedByHand = s.ManuallyStopped;
        using var held = await _containerLock.AcquireAsync(s.Id, ContainerLock.DefaultTimeout).ConfigureAwait(false);
        if (held is null)
        {
            _diagnostic(s.Id, $"restart by {source}: another process held the container's lock for {ContainerLock.DefaultTimeout.TotalSeconds:0} s; not restarted");
            return false;
        }

        // Decided from labels read before the lock: a stop by hand recorded since then wins.
        if (!stoppedByHand && await StoppedByHandSinceAsync(s).ConfigureAwait(false))
        {
            await CancelAsync(s).ConfigureAwait(false);
            _diagnostic(s.Id, $"restart by {source}: stopped by hand meanwhile; not restarted");
            return false;
        }

        s.Restarts.Reset();
        int count = resetCount ? 0 : RestartManager.NextCountOf(s.Labels);
        return await StartAsync(s, manual: resetCount, count, source).ConfigureAwait(false);
    }

    /// <summary>Whether the labels as containerd holds them now say stopped by hand (false when they cannot be read: the start that follows reports that).</summary>
    private async Task<bool> StoppedByHandSinceAsync(ContainerState s)
    {
        try
        {
            s.RefreshLabels((await _client.GetContainerAsync(s.Id).ConfigureAwait(false)).Labels);
        }
        catch (ContainerdException)
        {
            return false;
        }

        return RestartManager.IsManuallyStopped(s.Labels);
    }

    private CancellationTokenSource Pend(ContainerState s)
    {
        var cts = new CancellationTokenSource();
        var old = s.SetPendingRestart(cts);
        if (old is not null)
        {
            _pending.TryRemove(new KeyValuePair<ContainerState, CancellationTokenSource>(s, old));
            old.Cancel();
        }

        _pending[s] = cts;
        return cts;
    }

    private async Task WaitThenRestartAsync(ContainerState s, DateTime due, CancellationTokenSource cts)
    {
        try
        {
            var left = due - DateTime.UtcNow;
            if (left > TimeSpan.Zero)
            {
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(cts.Token, _disposed.Token);
                await Task.Delay(left, linked.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            return;
        }

        await s.Enqueue(() => RestartIfStillWantedAsync(s, cts)).ConfigureAwait(false);
    }

    private async Task RestartIfStillWantedAsync(ContainerState s, CancellationTokenSource cts)
    {
        if (!s.TakePendingRestart(cts))
        {
            return; // cancelled by a stop, a start, or a newer schedule
        }

        _pending.TryRemove(new KeyValuePair<ContainerState, CancellationTokenSource>(s, cts));
        if (!IsHolder)
        {
            return; // the duty passed on (module removed): the labels still say restarting, the next holder carries it out
        }

        if (PauseBeforeLook is { } wait)
        {
            await wait(s.Id).ConfigureAwait(false);
        }

        // Held from the re-read below until the task runs: a stop by hand in another process
        // either is read here, or finds the task this restart made (ContainerLock).
        IDisposable? held;
        try
        {
            held = await _containerLock.AcquireAsync(s.Id, ContainerLock.DefaultTimeout, _disposed.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return; // disposed: the labels still say restarting, the next holder carries it out
        }

        using var release = held;
        if (held is null)
        {
            _diagnostic(s.Id, $"restart: another process held the container's lock for {ContainerLock.DefaultTimeout.TotalSeconds:0} s; trying again in 1 s");
            ResumePending(s, DateTime.UtcNow.AddSeconds(1));
            return;
        }

        ContainerRecord rec;
        TaskInfo? task;
        try
        {
            rec = await _client.GetContainerAsync(s.Id).ConfigureAwait(false);
            task = await _client.GetTaskAsync(s.Id).ConfigureAwait(false);
        }
        catch (ContainerdException e) when (e.Kind == ContainerdErrorKind.NotFound)
        {
            return; // removed meanwhile
        }
        catch (ContainerdException e)
        {
            _diagnostic(s.Id, $"restart: cannot re-read the container ({e.Message}); left for the next attempt of a holder or Restore-ContainerState");
            return;
        }

        if (!IsStillTheContainer(s, rec))
        {
            return;
        }

        s.RefreshLabels(rec.Labels);
        if (task is not null && task.Status != Containerd.TaskStatus.Stopped)
        {
            // Started by someone else meanwhile (a start by hand, or Restore carrying out this very
            // restart in another process): its /tasks/start brings the state along, and a stop by
            // hand recorded since is that stop's to finish. Judged before the labels: read after
            // that start, they can say the policy is spent (on-failure:N at N), and cancelling
            // would record a running container as stopped by hand (chaos seed 20261204).
            return;
        }

        if (s.ManuallyStopped || RestartManager.IsManuallyStopped(rec.Labels)
            || !RestartManager.WouldRestart(rec.Labels, s.LastExit?.ExitCode ?? 255, false))
        {
            // Stopped by hand (by any process) since the exit, or the policy changed: the stop wins.
            await CancelAsync(s).ConfigureAwait(false);
            return;
        }

        if (PauseBeforeStart is { } pause)
        {
            await pause(s.Id).ConfigureAwait(false);
        }

        await StartAsync(s, manual: false, RestartManager.NextCountOf(rec.Labels), "policy").ConfigureAwait(false);
    }

    /// <summary>
    /// Whether <paramref name="rec"/> is the record whose exit this restart is for. One removed and
    /// created again under the same id (another CreatedAt; the delete event missed, or not yet
    /// handled) is a new container: the old one's restart is not its own.
    /// </summary>
    private bool IsStillTheContainer(ContainerState s, ContainerRecord rec)
    {
        if (!s.IsRemoved && s.IsSameRecord(rec.CreatedAt))
        {
            return true;
        }

        _diagnostic(s.Id, $"restart: the container was removed{(s.IsRemoved ? string.Empty : $" and created again (at {rec.CreatedAt:O}, was {s.RecordCreatedAt:O})")} since its exit; its restart is dropped");
        return false;
    }

    /// <summary>
    /// Set by tests only: a pause between a policy restart's last look at the labels and its task
    /// create, the time a loaded host spends there (chaos seed 6 hit that window in a CI run).
    /// </summary>
    internal Func<string, Task>? PauseBeforeStart { get; set; }

    /// <summary>Set by tests only: a pause when a policy restart falls due, before it takes the
    /// container's lock and looks at the labels and the task.</summary>
    internal Func<string, Task>? PauseBeforeLook { get; set; }

    /// <summary>
    /// Starts the task and reports it. Any failure (rootfs gone, containerd down, anything else)
    /// is recorded as a stop with the error (moby's SetStopped + checkpoint), never left as
    /// Restarting for ever.
    /// </summary>
    private async Task<bool> StartAsync(ContainerState s, bool manual, int count, string source)
    {
        try
        {
            await _start(s, manual, count, CancellationToken.None).ConfigureAwait(false);
            _events.Publish(_namespace, s.Id, EventTypes.Restart, null, ("RestartCount", count.ToString(CultureInfo.InvariantCulture)), ("Source", source));
            return true;
        }
        catch (Exception e)
        {
            _diagnostic(s.Id, $"restart by {source} failed: {e.Message}");
            try
            {
                s.RefreshLabels((await _store.Write(s.Id, CancellationToken.None,
                    (StateLabels.State, StateLabels.StateStopped),
                    (StateLabels.RestartDue, null),
                    (StateLabels.RestartError, e.Message)).ConfigureAwait(false)).Labels);
            }
            catch (ContainerdException w)
            {
                _diagnostic(s.Id, $"could not record the failed restart: {w.Message}");
            }

            s.SetStopped();
            return false;
        }
    }

    public void Dispose()
    {
        _disposed.Cancel();
        foreach (var (s, cts) in _pending.ToArray())
        {
            s.TakePendingRestart(cts);
            cts.Cancel();
        }

        _pending.Clear();
        _lock?.Dispose();
    }
}
