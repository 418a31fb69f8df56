using System.Diagnostics;
using PSContainerd.Containerd;

namespace PSContainerd.Engine;

/// <summary>
/// One stop of one container (moby daemon/stop.go, made stricter): record the intent, send the
/// stop signal (resuming a paused task so it is delivered), wait for the first exit source or
/// the grace period, SIGKILL every process, wait at most 5 s, SIGKILL the init process through
/// its pidfd, wait at most 2 s, then fail with a diagnosis. Every further caller joins the same
/// operation and gets the same result; a joiner with a shorter timeout brings the escalation
/// forward. No lock is held across an RPC.
/// </summary>
internal sealed class StopOperation
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

    /// <summary>Signals are quick RPCs; a hung shim (containerd#12678) must not hold the stop past its bound.</summary>
    private static readonly TimeSpan SignalDeadline = TimeSpan.FromSeconds(2);

    private readonly StopParts _parts;
    private readonly ContainerState _state;
    private readonly StopSettings _settings;
    private readonly object _gate = new();
    private readonly List<StopStep> _steps = new();
    private readonly TaskCompletionSource<StopResult> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly GracePeriod _grace = new();

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
    public event Action<StopStep>? StepAdded;

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
            // recorded manual stop makes it leave the container alone (it re-reads the labels).
            await _parts.Restarts.CancelAsync(_state).ConfigureAwait(false);
            var task = await _parts.Client.GetTaskAsync(_state.Id).ConfigureAwait(false);
            if (task is null || task.Status == Containerd.TaskStatus.Stopped)
            {
                AddStep(StopStepKind.RestartCancelled, "a restart was pending in the supervising process; recorded as stopped by hand, no signal sent");
                return new Begun(Result(StopOutcome.RestartCancelled, StopEscalation.None, _state.LastExit), 0, Task.FromResult<RecordedExit?>(null));
            }

            // It restarted before the manual stop was recorded: stop the task it created.
            _state.SetRunning(task.Pid, DateTime.UtcNow, paused: task.Status is Containerd.TaskStatus.Paused or Containerd.TaskStatus.Pausing);
            lock (_state.Gate)
            {
                pid = _state.Pid;
                exited = _state.WaitTask(WaitCondition.NextExit);
            }
        }

        if (!_state.IsLive)
        {
            // A stop that finds nothing running changes no label (no intent survives an exit already finalised).
            AddStep(StopStepKind.AlreadyStopped, _state.LastExit?.ExitCode is int c ? $"recorded exit code {c}" : "no task");
            return new Begun(Result(StopOutcome.AlreadyStopped, StopEscalation.None, _state.LastExit), 0, exited);
        }

        if (_parts.Manages)
        {
            // Written before the first signal, so a process that dies mid-stop leaves enough for
            // Restore-ContainerState to finish it. The deadline is the earliest escalation time.
            DateTime? intended = _settings.TimeoutSeconds < 0 ? null : DateTime.UtcNow.AddSeconds(_settings.TimeoutSeconds);
            var rec = await _parts.Store.RecordStopIntentAsync(_state.Id, new StopIntent(_settings.Signal, _settings.TimeoutSeconds, intended, ProcessIdentity.Current())).ConfigureAwait(false);
            _state.RefreshLabels(rec.Labels);
            AddStep(StopStepKind.RecordIntent, intended is null ? "no deadline" : $"deadline {intended:HH:mm:ss.fff}");
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

        var sent = await SignalAsync(_settings.Signal, all: false, StopStepKind.Signal).ConfigureAwait(false);
        // As docker: the grace period runs from the signal, not from the request.
        _grace.StartAt(DateTime.UtcNow, _settings.TimeoutSeconds);
        await ResumeIfPausedAsync().ConfigureAwait(false);

        try
        {
            if (sent != Delivery.NotDelivered && await _grace.WaitAsync(exited).ConfigureAwait(false))
            {
                return await ExitedAsync(StopEscalation.None, exited.Result).ConfigureAwait(false);
            }

            if (sent == Delivery.NotDelivered && _settings.TimeoutSeconds < 0 && !exited.IsCompleted)
            {
                // -Timeout -1 is never forced, not even when the stop signal could not be sent
                // (a joiner with a timeout brings a deadline; then the escalation is its).
                AddStep(StopStepKind.GaveUp, "the stop signal was not delivered and -Timeout -1 never forces: no SIGKILL sent");
                return Result(StopOutcome.Failed, StopEscalation.None, null,
                    $"The stop signal {Signals.Name(_settings.Signal)} to container {id} was not delivered, and a stop with no timeout (-1) is never forced. The container still runs; stop it with a timeout, or send SIGKILL.");
            }

            var killed = Delivery.Delivered;
            if (!exited.IsCompleted)
            {
                AddStep(sent == Delivery.NotDelivered ? StopStepKind.Escalate : StopStepKind.Timeout,
                    sent == Delivery.NotDelivered ? "stop signal not delivered; no grace period to wait" : "grace period over");
                killed = await SignalAsync(Signals.SIGKILL, all: true, StopStepKind.Kill).ConfigureAwait(false);
                // A container paused during the grace period acts on no SIGKILL until thawed (moby's killWithSignal resumes too).
                await ResumeIfPausedAsync().ConfigureAwait(false);
            }

            // A SIGKILL containerd did not (surely) deliver (it is restarting, or the shim is hung)
            // gives nothing sure to wait for: the direct kill through the pidfd comes at once rather
            // than after KillWait. Unlike the stop signal, a SIGKILL sent twice harms nothing.
            if (await WaitBoundedAsync(exited, killed == Delivery.Delivered || handle is null ? KillWait : TimeSpan.Zero).ConfigureAwait(false))
            {
                return await ExitedAsync(StopEscalation.Kill, exited.Result).ConfigureAwait(false);
            }

            if (handle is null)
            {
                AddStep(StopStepKind.DirectKill, $"skipped: {why}");
            }
            else if (handle.Signal(Signals.SIGKILL, out var err))
            {
                AddStep(StopStepKind.DirectKill, $"SIGKILL to pid {pid} through its pidfd");
            }
            else
            {
                AddStep(StopStepKind.DirectKill, err);
            }

            if (await WaitBoundedAsync(exited, DirectKillWait).ConfigureAwait(false))
            {
                return await ExitedAsync(StopEscalation.DirectKill, exited.Result).ConfigureAwait(false);
            }

            // Asked of the kernel, not of the watcher: a watch that already fired is not kept, and
            // asking it again would start a new one that has not fired yet.
            if (handle is not null && handle.HasExited)
            {
                // The process is gone but its exit is not recorded: containerd is down, and only
                // its task delete carries the real status (ExitRecorder retries it meanwhile).
                AddStep(StopStepKind.WaitRecord, "the init process is gone; waiting for containerd to report its exit status");
                if (await WaitBoundedAsync(exited, ContainerEngine.PidfdGrace + ExitRecorder.UnavailableRetry).ConfigureAwait(false))
                {
                    return await ExitedAsync(StopEscalation.DirectKill, exited.Result).ConfigureAwait(false);
                }
            }

            string diagnosis = InitProcessHandle.Diagnose((int)pid);
            AddStep(StopStepKind.GaveUp, diagnosis);
            string sentText = string.Join("; ", Snapshot().Where(s => s.Kind is StopStepKind.Signal or StopStepKind.Kill or StopStepKind.Refused or StopStepKind.DirectKill).Select(s => $"{s.Action} at {s.At:HH:mm:ss.fff} ({s.Detail})"));
            return Result(StopOutcome.Failed, StopEscalation.DirectKill, null,
                $"Container {id} did not exit after SIGKILL: {sentText}. The kernel reports {diagnosis}. The stop stays pending: a later Stop-Container or Restore-ContainerState finishes it once the process exits.");
        }
        finally
        {
            sources.Cancel();
        }
    }

    /// <summary>Whether a signal reached the process: yes, no, or maybe (its RPC timed out or containerd went away mid-call).</summary>
    private enum Delivery
    {
        Delivered,
        NotDelivered,
        MaybeDelivered,
    }

    /// <summary>Resumes the task if it is paused now, so the signal just sent is acted on (moby#15853).</summary>
    private async Task ResumeIfPausedAsync()
    {
        if (_state.Status != ContainerStatus.Paused)
        {
            return;
        }

        try
        {
            await _parts.Client.ResumeAsync(_state.Id).ConfigureAwait(false);
            AddStep(StopStepKind.Resume, "resumed so the signal is delivered");
        }
        catch (ContainerdException e)
        {
            AddStep(StopStepKind.Resume, $"failed: {e.Message}");
        }
    }

    private async Task<Delivery> SignalAsync(int signal, bool all, StopStepKind kind)
    {
        try
        {
            await _parts.Client.KillAsync(_state.Id, signal, all, deadline: SignalDeadline).ConfigureAwait(false);
            AddStep(kind, Signals.Name(signal) + (all ? " to every process" : " to the init process"));
            return Delivery.Delivered;
        }
        catch (ContainerdException e) when (e.Kind == ContainerdErrorKind.NotFound)
        {
            // containerd's "process already finished": nothing to signal, the exit is on its way.
            AddStep(kind, "process already finished");
            _parts.ObserveExit(_state, _state.Pid, null, "kill");
            return Delivery.Delivered;
        }
        catch (ContainerdException e) when (IsRefused(e))
        {
            // EACCES/EPERM from kill(2) in runc: a security module (AppArmor, SELinux) denies the
            // signal (moby#36809, #47720). Waiting gains nothing: the caller escalates at once.
            AddStep(StopStepKind.Refused, $"{Signals.Name(signal)}{(all ? " to every process" : " to the init process")} refused: {e.Message.ReplaceLineEndings(" ").Trim()}. A security module (AppArmor, SELinux) may deny the signal; {(_settings.TimeoutSeconds < 0 ? "a stop with no timeout is never forced" : "escalating without waiting")}");
            return Delivery.NotDelivered;
        }
        catch (ContainerdException e) when (MayHaveBeenDelivered(e))
        {
            // The call may have reached the shim before its deadline passed or the connection
            // dropped: the signal may be on its way, so the grace period still runs (moby waits
            // too after a failed stop signal, daemon/stop.go).
            AddStep(kind, $"{Signals.Name(signal)} may not have been delivered ({e.Kind}: {e.Message}){(kind == StopStepKind.Signal ? "; the grace period still runs" : string.Empty)}");
            return Delivery.MaybeDelivered;
        }
        catch (ContainerdException e)
        {
            AddStep(kind, $"{Signals.Name(signal)} failed: {e.Kind}: {e.Message}");
            return Delivery.NotDelivered;
        }
    }

    /// <summary>
    /// A signal RPC that ran out of time or lost its connection: the request may have reached the
    /// shim. containerd 1.6 answers a kill whose shim did not reply in time with gRPC Unknown
    /// "context deadline exceeded" (its own call to the shim carries our deadline), seen with a
    /// frozen shim; our own deadline gives DeadlineExceeded.
    /// </summary>
    internal static bool MayHaveBeenDelivered(ContainerdException e) =>
        e.Kind is ContainerdErrorKind.DeadlineExceeded or ContainerdErrorKind.Unavailable
        || (e.Kind == ContainerdErrorKind.Unknown && e.Message.Contains("deadline exceeded", StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// A signal the kernel refused. containerd 1.6's shim wraps runc's error as gRPC Unknown
    /// ("unknown error after kill: runc did not terminate successfully: exit status 1: permission
    /// denied"), so the text is what tells it apart; a PermissionDenied status counts too.
    /// </summary>
    internal static bool IsRefused(ContainerdException e) =>
        e.Kind == ContainerdErrorKind.PermissionDenied
        || (e.Kind == ContainerdErrorKind.Unknown
            && (e.Message.Contains("permission denied", StringComparison.OrdinalIgnoreCase)
                || e.Message.Contains("operation not permitted", StringComparison.OrdinalIgnoreCase)));

    private static async Task<bool> WaitBoundedAsync(Task<RecordedExit?> exited, TimeSpan bound)
    {
        using var cts = new CancellationTokenSource();
        var done = await Task.WhenAny(exited, Task.Delay(bound, cts.Token)).ConfigureAwait(false);
        cts.Cancel();
        return exited.IsCompleted;
    }

    private async Task<StopResult> ExitedAsync(StopEscalation escalation, RecordedExit? exit)
    {
        await _state.Enqueue(async () =>
        {
            if (_state.Status == ContainerStatus.Restarting)
            {
                // The exit was finalised with the restart policy before this stop marked itself:
                // the stop wins, the container stays stopped.
                await _parts.Restarts.CancelAsync(_state).ConfigureAwait(false);
                AddStep(StopStepKind.RestartCancelled, "a restart scheduled by the exit was cancelled");
            }
        }).ConfigureAwait(false);

        AddStep(StopStepKind.Exited, exit?.ExitCode is int c ? $"exit code {c}" + (exit.Detail is null ? string.Empty : $" ({exit.Detail})") : "exit code unknown");
        // An exit recorded with an unknown status (its shim hung, or was gone) says why.
        return Result(StopOutcome.Stopped, escalation, exit, exit?.Detail);
    }

    private StopResult Result(StopOutcome outcome, StopEscalation escalation, RecordedExit? exit, string? error = null) => new()
    {
        Id = _state.Id,
        Namespace = _parts.Namespace,
        Outcome = outcome,
        Signal = Signals.Name(_settings.Signal),
        Timeout = _settings.TimeoutSeconds,
        Escalation = escalation,
        ExitCode = exit?.ExitCode,
        ExitedAt = exit?.ExitedAt,
        OOMKilled = exit?.OomKilled ?? false,
        Duration = _clock.Elapsed,
        Steps = Snapshot(),
        Error = error,
    };

    private IReadOnlyList<StopStep> Snapshot()
    {
        lock (_gate)
        {
            return _steps.ToArray();
        }
    }

    private void AddStep(StopStepKind kind, string detail)
    {
        var step = new StopStep(DateTime.UtcNow, kind, detail);
        lock (_gate)
        {
            _steps.Add(step);
        }

        // Each observer on its own: one that throws (an -AsJob whose streams closed) must not
        // abort the stop every other caller shares.
        foreach (var observer in StepAdded?.GetInvocationList() ?? Array.Empty<Delegate>())
        {
            try
            {
                ((Action<StopStep>)observer)(step);
            }
            catch (Exception)
            {
            }
        }
    }
}
