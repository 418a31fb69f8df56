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
    private readonly ContainerdClient _client;
    private readonly LabelStateStore _store;
    private readonly EngineEvents _events;
    private readonly string _namespace;
    private readonly Action<string, string> _diagnostic;
    private readonly SupervisorLock? _lock;
    private readonly PendingRestarts _pending = new();
    private readonly RestartStarter _starter;
    private readonly CancellationTokenSource _disposed = new();

    public RestartSupervisor(ContainerdClient client, LabelStateStore store, EngineEvents events, string @namespace, RestartStarter.StartTask start, Action<string, string> diagnostic, SupervisorLock? supervisorLock, ContainerLock containerLock)
    {
        _client = client;
        _store = store;
        _events = events;
        _namespace = @namespace;
        _diagnostic = diagnostic;
        _lock = supervisorLock;
        _starter = new RestartStarter(client, store, events, @namespace, start, diagnostic, containerLock, _pending);
    }

    /// <summary>Whether this engine holds the restart duty now.</summary>
    public bool IsHolder => _lock?.IsHeld == true && !_disposed.IsCancellationRequested;

    public SupervisorLock? Lock => _lock;

    /// <summary>The cross-process lock a restart holds from its last label read until its task runs.</summary>
    public ContainerLock ContainerLock => _starter.ContainerLock;

    /// <summary>
    /// What the policy says about <paramref name="exit"/>, decided from the labels as containerd
    /// holds them now (another process may have stopped the container by hand). "No" unless this
    /// engine holds the duty. On the container's queue.
    /// </summary>
    /// <param name="current">The record as the caller has just read it, if it has: no second read.</param>
    public async Task<RestartDecision> DecideAsync(ContainerState s, RecordedExit exit, ContainerRecord? current = null)
    {
        if (!IsHolder || s.ManuallyStopped || !s.Recorded.WouldRestart(exit.ExitCode ?? 255, false))
        {
            return RestartDecision.No;
        }

        try
        {
            var rec = current ?? await _client.GetContainerAsync(s.Id).ConfigureAwait(false);
            if (!s.Record.IsSame(rec.CreatedAt))
            {
                // Removed and created again since the run that exited: the new container's first run
                // is its owner's to start, never this exit's restart (chaos seed 20261211).
                _diagnostic(s.Id, $"restart decision: the container was created again (at {rec.CreatedAt:O}, was {s.Record.CreatedAt:O}) since the run that exited; no restart");
                return RestartDecision.No;
            }

            // A state that had not read its record yet follows this one from now on.
            s.Record.Bind(rec.CreatedAt);
            s.RefreshLabels(rec.Labels);
        }
        catch (ContainerdException e)
        {
            _diagnostic(s.Id, $"restart decision: cannot re-read the labels ({e.Message}); no restart");
            return RestartDecision.No;
        }

        var recorded = s.Recorded;
        var ranFor = s.StartedAt is DateTime started && exit.ExitedAt is DateTime ended ? ended - started : TimeSpan.Zero;
        return s.Restarts.ShouldRestart(recorded.Policy, exit.ExitCode ?? 255, s.ManuallyStopped || recorded.ManuallyStopped, recorded.RestartCount, ranFor);
    }

    /// <summary>Enters Restarting (recorded in the labels) and restarts after the decided backoff unless cancelled first. On the container's queue.</summary>
    public async Task ScheduleAsync(ContainerState s, RestartDecision decision)
    {
        var due = DateTime.UtcNow + decision.After;
        var cts = _pending.Pend(s);
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

        _ = WaitThenRestartAsync(s, at, _pending.Pend(s));
    }

    /// <summary>Cancels a pending restart, leaving the container stopped by hand; no signal is sent. On the container's queue.</summary>
    public Task CancelAsync(ContainerState s) => _starter.CancelAsync(s);

    /// <summary>Cancels the restart waiting out its backoff, if any; true when there was one.</summary>
    public bool CancelPending(ContainerState s) => _pending.Cancel(s);

    /// <summary>Whether a restart of <paramref name="s"/> is waiting out its backoff in this engine.</summary>
    public bool HasPending(ContainerState s) => _pending.Has(s);

    /// <inheritdoc cref="RestartStarter.RestartNowAsync"/>
    public Task<bool> RestartNowAsync(ContainerState s, string source, bool resetCount) => _starter.RestartNowAsync(s, source, resetCount);

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
        if (!_pending.Take(s, cts))
        {
            return; // cancelled by a stop, a start, or a newer schedule
        }

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
            held = await ContainerLock.AcquireAsync(s.Id, ContainerLock.DefaultTimeout, _disposed.Token).ConfigureAwait(false);
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

        var recorded = RecordedState.Of(rec.Labels);
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

        if (s.ManuallyStopped || recorded.ManuallyStopped || !recorded.WouldRestart(s.LastExit?.ExitCode ?? 255, false))
        {
            // Stopped by hand (by any process) since the exit, or the policy changed: the stop wins.
            await _starter.CancelAsync(s).ConfigureAwait(false);
            return;
        }

        if (PauseBeforeStart is { } pause)
        {
            await pause(s.Id).ConfigureAwait(false);
        }

        await _starter.StartAsync(s, manual: false, recorded.NextRestartCount, "policy").ConfigureAwait(false);
    }

    /// <summary>
    /// Whether <paramref name="rec"/> is the record whose exit this restart is for. One removed and
    /// created again under the same id (another CreatedAt; the delete event missed, or not yet
    /// handled) is a new container: the old one's restart is not its own.
    /// </summary>
    private bool IsStillTheContainer(ContainerState s, ContainerRecord rec)
    {
        if (!s.IsRemoved && s.Record.IsSame(rec.CreatedAt))
        {
            return true;
        }

        _diagnostic(s.Id, $"restart: the container was removed{(s.IsRemoved ? string.Empty : $" and created again (at {rec.CreatedAt:O}, was {s.Record.CreatedAt:O})")} since its exit; its restart is dropped");
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

    public void Dispose()
    {
        _disposed.Cancel();
        _pending.CancelAll();
        _lock?.Dispose();
    }
}
