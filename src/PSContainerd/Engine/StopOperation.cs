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
    /// <summary>After SIGKILL to every process; moby waits as long before its direct kill.</summary>
    public static readonly TimeSpan KillWait = TimeSpan.FromSeconds(5);

    /// <summary>After the direct kill: the kernel needs no longer than this to tear down a SIGKILLed process that is not stuck in D state.</summary>
    public static readonly TimeSpan DirectKillWait = TimeSpan.FromSeconds(2);

    /// <summary>Signals are quick RPCs; a hung shim (containerd#12678) must not hold the stop past its bound.</summary>
    private static readonly TimeSpan SignalDeadline = TimeSpan.FromSeconds(2);

    private readonly ContainerEngine _engine;
    private readonly ContainerState _state;
    private readonly StopSettings _settings;
    private readonly object _gate = new();
    private readonly List<StopStep> _steps = new();
    private readonly TaskCompletionSource<StopResult> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly GracePeriod _grace = new();

    public StopOperation(ContainerEngine engine, ContainerState state, StopSettings settings, IEnumerable<string> warnings)
    {
        _engine = engine;
        _state = state;
        _settings = settings;
        foreach (var w in warnings)
        {
            AddStep("warning", w);
        }
    }

    /// <summary>Raised for each step as it happens (Write-Verbose shows the escalation live).</summary>
    public event Action<StopStep>? StepAdded;

    public Task<StopResult> Completion => _done.Task;

    public StopSettings Settings => _settings;

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
            AddStep("joined", $"a caller with timeout {timeoutSeconds} s brought the deadline to {candidate:HH:mm:ss.fff}");
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
            AddStep("error", e.Message);
            result = Result(StopOutcome.Failed, StopEscalation.None, _state.LastExit, e.Message);
        }

        lock (_state.Gate)
        {
            if (_state.Stop == this)
            {
                _state.Stop = null;
            }
        }

        _done.TrySetResult(result);
    }

    private async Task<StopResult> StopAsync()
    {
        string id = _state.Id;
        var client = _engine.Client;
        AddStep("stop", $"signal {Signals.Name(_settings.Signal)}, timeout {(_settings.TimeoutSeconds < 0 ? "none" : _settings.TimeoutSeconds + " s")}");
        _engine.Events.Publish(_engine.Namespace, _state.Id, "Stop", null,
            ("Signal", Signals.Name(_settings.Signal)),
            ("Timeout", _settings.TimeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)));

        // Marked before the state is looked at: an exit finalised while this stop starts must not
        // schedule a restart behind its back (moby#10032, #11008). Kept in memory only until the
        // intent is written; a stop that finds nothing running changes no label.
        _state.ManuallyStopped = true;
        if (_state.Status == ContainerStatus.Restarting)
        {
            await _engine.Restarts.CancelAsync(_state).ConfigureAwait(false);
            AddStep("restart-cancelled", "the pending restart was cancelled; no signal sent");
            return Result(StopOutcome.RestartCancelled, StopEscalation.None, _state.LastExit);
        }

        uint pid;
        bool paused;
        Task<RecordedExit?> exited;
        lock (_state.Gate)
        {
            pid = _state.Pid;
            paused = _state.Status == ContainerStatus.Paused;
            exited = _state.WaitTask(WaitCondition.NextExit);
        }

        if (!_state.IsLive)
        {
            AddStep("already-stopped", _state.LastExit?.ExitCode is int c ? $"recorded exit code {c}" : "no task");
            return Result(StopOutcome.AlreadyStopped, StopEscalation.None, _state.LastExit);
        }

        _state.ManuallyStopped = true;
        if (_engine.Manages)
        {
            // Written before the first signal, so a process that dies mid-stop leaves enough for
            // Restore-ContainerState to finish it. The deadline is the earliest escalation time.
            DateTime? intended = _settings.TimeoutSeconds < 0 ? null : DateTime.UtcNow.AddSeconds(_settings.TimeoutSeconds);
            await _engine.StateStore.RecordStopIntentAsync(id, new StopIntent(_settings.Signal, _settings.TimeoutSeconds, intended, Environment.ProcessId)).ConfigureAwait(false);
            AddStep("record-intent", intended is null ? "no deadline" : $"deadline {intended:HH:mm:ss.fff}");
        }

        using var sources = new CancellationTokenSource();
        using var handle = InitProcessHandle.Open((int)pid, id, out var why);
        _engine.WatchExitSources(_state, pid, handle, sources.Token);

        bool delivered = await SignalAsync(_settings.Signal, all: false, "signal").ConfigureAwait(false);
        // As docker: the grace period runs from the signal, not from the request.
        _grace.StartAt(DateTime.UtcNow, _settings.TimeoutSeconds);
        if (paused)
        {
            // A frozen process acts on no signal until thawed (moby#15853).
            await TryAsync("resume", "resumed so the signal is delivered", () => client.ResumeAsync(id)).ConfigureAwait(false);
        }

        try
        {
            if (delivered && await _grace.WaitAsync(exited).ConfigureAwait(false))
            {
                return await ExitedAsync(StopEscalation.None, exited.Result).ConfigureAwait(false);
            }

            bool killed = true;
            if (!exited.IsCompleted)
            {
                AddStep(delivered ? "timeout" : "escalate", delivered ? "grace period over" : "stop signal not delivered; no grace period to wait");
                killed = await SignalAsync(Signals.SIGKILL, all: true, "kill").ConfigureAwait(false);
            }

            // A SIGKILL containerd did not deliver (it is restarting, or the shim is hung) gives
            // nothing to wait for: go to the direct kill at once rather than waste KillWait.
            if (await WaitBoundedAsync(exited, killed || handle is null ? KillWait : TimeSpan.Zero).ConfigureAwait(false))
            {
                return await ExitedAsync(StopEscalation.Kill, exited.Result).ConfigureAwait(false);
            }

            if (handle is null)
            {
                AddStep("direct-kill", $"skipped: {why}");
            }
            else if (handle.Signal(Signals.SIGKILL, out var err))
            {
                AddStep("direct-kill", $"SIGKILL to pid {pid} through its pidfd");
            }
            else
            {
                AddStep("direct-kill", err);
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
                AddStep("wait-record", "the init process is gone; waiting for containerd to report its exit status");
                if (await WaitBoundedAsync(exited, ContainerEngine.PidfdGrace + ExitRecorder.UnavailableRetry).ConfigureAwait(false))
                {
                    return await ExitedAsync(StopEscalation.DirectKill, exited.Result).ConfigureAwait(false);
                }
            }

            string diagnosis = InitProcessHandle.Diagnose((int)pid);
            AddStep("gave-up", diagnosis);
            string sent = string.Join("; ", Snapshot().Where(s => s.Action is "signal" or "kill" or "refused" or "direct-kill").Select(s => $"{s.Action} at {s.At:HH:mm:ss.fff} ({s.Detail})"));
            return Result(StopOutcome.Failed, StopEscalation.DirectKill, null,
                $"Container {id} did not exit after SIGKILL: {sent}. The kernel reports {diagnosis}. The stop stays pending: a later Stop-Container or Restore-ContainerState finishes it once the process exits.");
        }
        finally
        {
            sources.Cancel();
        }
    }

    private async Task<bool> SignalAsync(int signal, bool all, string action)
    {
        try
        {
            await _engine.Client.KillAsync(_state.Id, signal, all, deadline: SignalDeadline).ConfigureAwait(false);
            AddStep(action, Signals.Name(signal) + (all ? " to every process" : " to the init process"));
            return true;
        }
        catch (ContainerdException e) when (e.Kind == ContainerdErrorKind.NotFound)
        {
            // containerd's "process already finished": nothing to signal, the exit is on its way.
            AddStep(action, "process already finished");
            _engine.ObserveExit(_state, _state.Pid, null, "kill");
            return true;
        }
        catch (ContainerdException e) when (IsRefused(e))
        {
            // EACCES/EPERM from kill(2) in runc: a security module (AppArmor, SELinux) denies the
            // signal (moby#36809, #47720). Waiting gains nothing: the caller escalates at once.
            AddStep("refused", $"{Signals.Name(signal)}{(all ? " to every process" : " to the init process")} refused: {e.Message.ReplaceLineEndings(" ").Trim()}. A security module (AppArmor, SELinux) may deny the signal; escalating without waiting");
            return false;
        }
        catch (ContainerdException e)
        {
            AddStep(action, $"{Signals.Name(signal)} failed: {e.Kind}: {e.Message}");
            return false;
        }
    }

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

    private async Task TryAsync(string action, string detail, Func<Task> call)
    {
        try
        {
            await call().ConfigureAwait(false);
            AddStep(action, detail);
        }
        catch (ContainerdException e)
        {
            AddStep(action, $"failed: {e.Message}");
        }
    }

    private static async Task<bool> WaitBoundedAsync(Task<RecordedExit?> exited, TimeSpan bound)
    {
        using var cts = new CancellationTokenSource();
        var done = await Task.WhenAny(exited, Task.Delay(bound, cts.Token)).ConfigureAwait(false);
        cts.Cancel();
        return exited.IsCompleted;
    }

    private async Task<StopResult> ExitedAsync(StopEscalation escalation, RecordedExit? exit)
    {
        if (_state.Status == ContainerStatus.Restarting)
        {
            // The exit was finalised with the restart policy before this stop marked itself: the
            // stop wins, the container stays stopped.
            await _engine.Restarts.CancelAsync(_state).ConfigureAwait(false);
            AddStep("restart-cancelled", "a restart scheduled by the exit was cancelled");
        }

        AddStep("exited", exit?.ExitCode is int c ? $"exit code {c}" + (exit.Detail is null ? string.Empty : $" ({exit.Detail})") : "exit code unknown");
        // An exit recorded with an unknown status (its shim hung, or was gone) says why.
        return Result(StopOutcome.Stopped, escalation, exit, exit?.Detail);
    }

    private StopResult Result(StopOutcome outcome, StopEscalation escalation, RecordedExit? exit, string? error = null) => new()
    {
        Id = _state.Id,
        Namespace = _engine.Namespace,
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

    private void AddStep(string action, string detail)
    {
        var step = new StopStep(DateTime.UtcNow, action, detail);
        lock (_gate)
        {
            _steps.Add(step);
        }

        StepAdded?.Invoke(step);
    }
}
