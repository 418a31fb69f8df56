using System.Diagnostics;
using PSContainerd.Containerd;

namespace PSContainerd.Engine;

/// <summary>
/// One stop of one container (moby daemon/stop.go, made stricter): record the intent, send the
/// stop signal (resuming a paused task so it is delivered), wait for the first exit source or
/// the grace period, SIGKILL, wait at most 5 s, SIGKILL the init process through its pidfd
/// again, wait at most 2 s, then fail with a diagnosis. Which way each signal goes (the init
/// process's pidfd, or containerd's Kill) is <see cref="SignalRouter"/>'s. Every further caller
/// joins the same operation and gets the same result; a joiner with a shorter timeout brings the
/// escalation forward. No lock is held across an RPC.
/// </summary>
internal sealed partial class StopOperation
{
    /// <summary>What a stop uses of the engine, handed over at construction (the stop holds no engine).</summary>
    internal sealed record StopParts(
        ContainerdClient Client,
        LabelStateStore Store,
        EngineEvents Events,
        string Namespace,
        bool Manages,
        RestartSupervisor Restarts,
        Action<ContainerState, uint, InitProcessHandle?, CancellationToken> WatchExitSources,
        Action<ContainerState, uint, ExitInfo?, string> ObserveExit);

    /// <summary>After SIGKILL to every process; moby waits as long before its direct kill.</summary>
    public static readonly TimeSpan KillWait = TimeSpan.FromSeconds(5);

    /// <summary>After the direct kill: the kernel needs no longer than this to tear down a SIGKILLed process that is not stuck in D state.</summary>
    public static readonly TimeSpan DirectKillWait = TimeSpan.FromSeconds(2);

    private readonly StopParts _parts;
    private readonly ContainerState _state;
    private readonly StopSettings _settings;
    private readonly StopTimeline _timeline = new();
    private readonly TaskCompletionSource<StopResult> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly GracePeriod _grace = new();
    private bool? _signalHandled;
    private DateTime? _signalledAt;

    public StopOperation(StopParts parts, ContainerState state, StopSettings settings, IEnumerable<string> warnings)
    {
        _parts = parts;
        _state = state;
        _settings = settings;
        foreach (var w in warnings)
        {
            AddStep(StopStepKind.Warning, w);
        }
    }

    /// <summary>Raised for each step as it happens (Write-Verbose shows the escalation live).</summary>
    public event Action<StopStep>? StepAdded
    {
        add => _timeline.StepAdded += value;
        remove => _timeline.StepAdded -= value;
    }

    public Task<StopResult> Completion => _done.Task;

    public void Start() => _ = Task.Run(RunAsync);

    /// <summary>A joining caller's timeout: escalation comes no later than now + <paramref name="timeoutSeconds"/>.</summary>
    public void Tighten(int timeoutSeconds)
    {
        if (timeoutSeconds < 0)
        {
            return;
        }

        var candidate = DateTime.UtcNow.AddSeconds(timeoutSeconds);
        if (_grace.BringForward(candidate))
        {
            AddStep(StopStepKind.Joined, $"a caller with timeout {timeoutSeconds} s brought the deadline to {candidate:HH:mm:ss.fff}");
        }
    }

    private async Task RunAsync()
    {
        StopResult result;
        try
        {
            result = await StopAsync().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            AddStep(StopStepKind.Error, e.Message);
            result = Result(StopOutcome.Failed, StopEscalation.None, _state.LastExit, e.Message);
        }

        _state.EndStop(this);
        SettleIntent(result);
        _done.TrySetResult(result);
    }

    /// <summary>What the stop found on the container's queue: a result already (nothing to signal), or what to signal.</summary>
    private sealed record Begun(StopResult? Done, uint Pid, Task<RecordedExit?> Exited);

    /// <summary>
    /// The stop's transition, on the container's queue so no start, restart or exit finalisation
    /// interleaves with it: mark the manual stop, cancel a pending restart (no signal), or find the
    /// container not running, or write the intent and take the pid to signal.
    /// </summary>
    private async Task<Begun> BeginAsync()
    {
        // Marked first: an exit finalised from now on must not schedule a restart (moby#10032, #11008).
        _state.MarkManuallyStopped();
        if (_state.Status == ContainerStatus.Restarting || (!_state.IsLive && _state.HasPendingRestart))
        {
            await _parts.Restarts.CancelAsync(_state).ConfigureAwait(false);
            AddStep(StopStepKind.RestartCancelled, "the pending restart was cancelled; no signal sent");
            return new Begun(Result(StopOutcome.RestartCancelled, StopEscalation.None, _state.LastExit), 0, Task.FromResult<RecordedExit?>(null));
        }

        uint pid;
        Task<RecordedExit?> exited;
        lock (_state.Gate)
        {
            pid = _state.Pid;
            exited = _state.WaitTask(WaitCondition.NextExit);
        }

        if (!_state.IsLive && _parts.Manages && await RestartPendingElsewhereAsync().ConfigureAwait(false))
        {
            // The restart supervisor is another process and may be about to restart it: the
            // recorded manual stop makes it leave the container alone (it re-reads the labels
            // under the container's lock, and starts under it). Under that lock too, the look at
            // the task below sees any restart that read the labels before the write.
            using var held = await _parts.Restarts.ContainerLock.AcquireAsync(_state.Id, ContainerLock.DefaultTimeout).ConfigureAwait(false);
            if (held is null)
            {
                AddStep(StopStepKind.Warning, $"another process held the container's lock for {ContainerLock.DefaultTimeout.TotalSeconds:0} s; going on without it");
            }

            await _parts.Restarts.CancelAsync(_state).ConfigureAwait(false);
            var task = await _parts.Client.GetTaskAsync(_state.Id).ConfigureAwait(false);
            if (task is null || task.Status == Containerd.TaskStatus.Stopped)
            {
                AddStep(StopStepKind.RestartCancelled, "a restart was pending in the supervising process; recorded as stopped by hand, no signal sent");
                return new Begun(Result(StopOutcome.RestartCancelled, StopEscalation.None, _state.LastExit), 0, Task.FromResult<RecordedExit?>(null));
            }

            // It restarted before the manual stop was recorded: stop the task it created.
            _state.SetRunning(task.Pid, DateTime.UtcNow, paused: task.Status.IsPaused());
            lock (_state.Gate)
            {
                pid = _state.Pid;
                exited = _state.WaitTask(WaitCondition.NextExit);
            }
        }

        if (!_state.IsLive)
        {
            // A stop that finds nothing running changes no label (no intent survives an exit already
            // finalised), but containerd's restart monitor, told the container should run, would
            // start it again at its next look: it is told to leave it stopped.
            string monitor = string.Empty;
            if (_parts.Manages && _state.Labels.Get(ContainerdRestartLabels.Status) == ContainerdRestartLabels.Running)
            {
                var rec = await _parts.Store.Write(_state.Id, CancellationToken.None, new[]
                {
                    (ContainerdRestartLabels.Status, (string?)ContainerdRestartLabels.Stopped),
                    (StateLabels.ManuallyStopped, "true"),
                    (StateLabels.ContainerdExplicitlyStopped, "true"),
                }.Concat(StateLabels.AdoptIfForeign(_state.Labels)).ToArray()).ConfigureAwait(false);
                _state.RefreshLabels(rec.Labels);
                monitor = $"; containerd's restart monitor told to leave it stopped ({ContainerdRestartLabels.Status}={ContainerdRestartLabels.Stopped})";
            }

            AddStep(StopStepKind.AlreadyStopped, (_state.LastExit?.ExitCode is int c ? $"recorded exit code {c}" : "no task") + monitor);
            return new Begun(Result(StopOutcome.AlreadyStopped, StopEscalation.None, _state.LastExit), 0, exited);
        }

        if (_parts.Manages)
        {
            // Written before the first signal, so a process that dies mid-stop leaves enough for
            // Restore-ContainerState to finish it. The deadline is the earliest escalation time.
            // A container the module did not make is adopted by this write: a stop is a state change.
            DateTime? intended = _settings.TimeoutSeconds < 0 ? null : DateTime.UtcNow.AddSeconds(_settings.TimeoutSeconds);
            bool adopting = !StateLabels.IsManaged(_state.Labels);
            if (await RecordIntentAsync(new StopIntent(_settings.Signal, _settings.TimeoutSeconds, intended, ProcessIdentity.Current())).ConfigureAwait(false))
            {
                if (adopting)
                {
                    AddStep(StopStepKind.Adopted, $"the container was not managed by PSContainerd; from now on its state is recorded in its {StateLabels.Prefix}* labels");
                }

                AddStep(StopStepKind.RecordIntent, intended is null ? "no deadline" : $"deadline {intended:HH:mm:ss.fff}");
            }
        }

        return new Begun(null, pid, exited);
    }

    /// <summary>
    /// Whether the labels as containerd holds them now say a restart may come from the process
    /// that holds the restart duty: recorded as restarting, or an exit recorded by an engine that
    /// leaves the state to the supervisor. Never true in the supervising engine itself: its own
    /// state says Restarting.
    /// </summary>
    private async Task<bool> RestartPendingElsewhereAsync()
    {
        if (_parts.Restarts.IsHolder)
        {
            return false;
        }

        try
        {
            _state.RefreshLabels((await _parts.Client.GetContainerAsync(_state.Id).ConfigureAwait(false)).Labels);
        }
        catch (ContainerdException e) when (e.Kind == ContainerdErrorKind.NotFound)
        {
            return false;
        }

        var labels = _state.Labels;
        string? recorded = labels.Get(StateLabels.State);
        return recorded == StateLabels.StateRestarting
            || (recorded == StateLabels.StateRunning && RestartManager.WouldRestart(labels, _state.LastExit?.ExitCode ?? 255, manuallyStopped: false));
    }

    private async Task<StopResult> StopAsync()
    {
        string id = _state.Id;
        AddStep(StopStepKind.Stop, $"signal {Signals.Name(_settings.Signal)}, timeout {(_settings.TimeoutSeconds < 0 ? "none" : _settings.TimeoutSeconds + " s")}");
        _parts.Events.Publish(_parts.Namespace, _state.Id, EventTypes.Stop, null,
            ("Signal", Signals.Name(_settings.Signal)),
            ("Timeout", _settings.TimeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)));

        var begun = await _state.Enqueue(BeginAsync).ConfigureAwait(false);
        if (begun.Done is not null)
        {
            return begun.Done;
        }

        uint pid = begun.Pid;
        var exited = begun.Exited;
        using var sources = new CancellationTokenSource();
        using var handle = InitProcessHandle.Open((int)pid, _parts.Namespace, id, out var why, _state.StartedAt);
        _parts.WatchExitSources(_state, pid, handle, sources.Token);
        var signals = new SignalRouter(_parts.Client, _state, _timeline, handle, why, _settings.TimeoutSeconds < 0, _parts.ObserveExit);

        NoteSignalHandling(pid);
        var sent = await signals.SignalAsync(_settings.Signal).ConfigureAwait(false);
        _sent |= sent != Delivery.NotDelivered;
        // As docker: the grace period runs from the signal (its delivery, through the pidfd), not from the request.
        _signalledAt = DateTime.UtcNow;
        _grace.StartAt(_signalledAt.Value, _settings.TimeoutSeconds);
        await ResumeIfPausedAsync().ConfigureAwait(false);

        try
        {
            return await EscalateAsync(signals, sent, pid, exited, handle).ConfigureAwait(false);
        }
        finally
        {
            sources.Cancel();
        }
    }

    /// <summary>
    /// Whether the init process handles the stop signal, read just before it is sent: a signal the
    /// kernel will drop (a pid namespace's init without a handler) gets a warning step now, not a
    /// puzzle after the grace period.
    /// </summary>
    private void NoteSignalHandling(uint pid)
    {
        var fate = ReadinessChecks.SignalFate(pid, _settings.Signal);
        _signalHandled = _settings.Signal == Signals.SIGKILL ? null : fate?.Handled;
        if (fate?.Dropped == true)
        {
            AddStep(StopStepKind.Warning, $"the init process (pid {pid}) has no handler for {Signals.Name(_settings.Signal)}: the kernel drops it for a pid namespace's init, so the stop will escalate when the grace period ends (wait for Wait-Container -Condition Ready -SignalHandled before stopping)");
        }
    }

    private IReadOnlyList<StopStep> Snapshot() => _timeline.Snapshot();

    private void AddStep(StopStepKind kind, string detail) => _timeline.Add(kind, detail);
}
