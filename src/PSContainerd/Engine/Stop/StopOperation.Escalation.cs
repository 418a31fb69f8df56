using PSContainerd.Containerd;

namespace PSContainerd.Engine;

/// <summary>A stop after its signal went out: the grace period, SIGKILL, the direct kill, each bounded, and the outcome.</summary>
internal sealed partial class StopOperation
{
    /// <summary>After the stop signal: the grace period, SIGKILL, the direct kill, each bounded; the result once the exit is recorded.</summary>
    private async Task<StopResult> EscalateAsync(SignalRouter signals, Delivery sent, uint pid, Task<RecordedExit?> exited, InitProcessHandle? handle)
    {
        string id = _state.Id;
        if (sent != Delivery.NotDelivered && await _grace.WaitAsync(exited).ConfigureAwait(false))
        {
            return await ExitedAsync(StopEscalation.None, exited.Result, signals).ConfigureAwait(false);
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
            killed = await signals.KillAsync().ConfigureAwait(false);
            _sent |= killed != Delivery.NotDelivered;
            // A container paused during the grace period acts on no SIGKILL until thawed (moby's killWithSignal resumes too).
            await ResumeIfPausedAsync().ConfigureAwait(false);
        }

        if (killed == Delivery.NotDelivered && handle is null && !exited.IsCompleted)
        {
            // Refused or failed, and no pidfd to try: no way left to signal, nothing to wait for.
            return await GaveUpAsync(signals, pid, StopEscalation.Kill, $"Container {id} could not be killed: containerd's Kill was not delivered and no verified pidfd on its init process is held");
        }

        // A SIGKILL containerd did not (surely) deliver (it is restarting, or the shim is hung)
        // gives nothing sure to wait for: the direct kill through the pidfd comes at once rather
        // than after KillWait. Unlike the stop signal, a SIGKILL sent twice harms nothing.
        if (await WaitBoundedAsync(exited, killed == Delivery.Delivered || handle is null ? KillWait : TimeSpan.Zero).ConfigureAwait(false))
        {
            return await ExitedAsync(StopEscalation.Kill, exited.Result, signals).ConfigureAwait(false);
        }

        signals.DirectKill();
        _sent |= handle is not null;
        if (await WaitBoundedAsync(exited, DirectKillWait).ConfigureAwait(false))
        {
            return await ExitedAsync(StopEscalation.DirectKill, exited.Result, signals).ConfigureAwait(false);
        }

        // Asked of the kernel, not of the watcher: a watch that already fired is not kept, and
        // asking it again would start a new one that has not fired yet.
        if (handle is not null && handle.HasExited)
        {
            // The process is gone but its exit is not recorded: containerd is down, and only
            // its task delete carries the real status (ExitRecorder retries it meanwhile).
            AddStep(StopStepKind.WaitRecord, "the init process is gone; waiting for containerd to report its exit status");
            if (await WaitBoundedAsync(exited, ExitSources.PidfdGrace + TaskDeleter.UnavailableRetry).ConfigureAwait(false))
            {
                return await ExitedAsync(StopEscalation.DirectKill, exited.Result, signals).ConfigureAwait(false);
            }
        }

        return await GaveUpAsync(signals, pid, StopEscalation.DirectKill, $"Container {id} did not exit after SIGKILL");
    }

    /// <summary>The stop ends without an exit: what was sent, and what the kernel says the process is doing.</summary>
    private async Task<StopResult> GaveUpAsync(SignalRouter signals, uint pid, StopEscalation reached, string what)
    {
        await signals.SettledAsync().ConfigureAwait(false);
        string diagnosis = InitProcessHandle.Diagnose((int)pid);
        AddStep(StopStepKind.GaveUp, diagnosis);
        string sentText = string.Join("; ", _timeline.Snapshot().Where(s => s.Kind is StopStepKind.Signal or StopStepKind.Kill or StopStepKind.Refused or StopStepKind.DirectKill).Select(s => $"{s.Action} at {s.At:HH:mm:ss.fff} ({s.Detail})"));
        return Result(StopOutcome.Failed, reached, null,
            $"{what}: {sentText}. The kernel reports {diagnosis}. The stop stays pending: a later Stop-Container or Restore-ContainerState finishes it once the process exits.");
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

    private static async Task<bool> WaitBoundedAsync(Task<RecordedExit?> exited, TimeSpan bound)
    {
        using var cts = new CancellationTokenSource();
        var done = await Task.WhenAny(exited, Task.Delay(bound, cts.Token)).ConfigureAwait(false);
        cts.Cancel();
        return exited.IsCompleted;
    }

    private async Task<StopResult> ExitedAsync(StopEscalation escalation, RecordedExit? exit, SignalRouter signals)
    {
        // The Kill(all) that followed a pidfd SIGKILL has answered by now (it is quicker than a
        // task delete); its step belongs in the result.
        await signals.SettledAsync().ConfigureAwait(false);
        if (_state.Status == ContainerStatus.Restarting)
        {
            // Asked first off the queue: the queue may still hold the rest of the task delete,
            // which the stop does not wait for; an exit recorded as Stopped stays so.
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
        }

        AddStep(StopStepKind.Exited, exit?.ExitCode is int c ? $"exit code {c}" + (exit.Detail is null ? string.Empty : $" ({exit.Detail})") : "exit code unknown");
        // An exit recorded with an unknown status (its shim hung, or was gone) says why.
        return Result(StopOutcome.Stopped, escalation, exit, exit?.Detail);
    }

    // A stop that found the container stopped, or only cancelled its pending restart, sent no
    // signal and gave no grace: its result says so (null) instead of the settings it never used.
    private StopResult Result(StopOutcome outcome, StopEscalation escalation, RecordedExit? exit, string? error = null) => new()
    {
        Id = _state.Id,
        Namespace = _parts.Namespace,
        Address = _parts.Client.Address,
        Outcome = outcome,
        Signal = outcome is StopOutcome.AlreadyStopped or StopOutcome.RestartCancelled ? null : Signals.Name(_settings.Signal),
        Timeout = outcome is StopOutcome.AlreadyStopped or StopOutcome.RestartCancelled ? null : _settings.TimeoutSeconds,
        Escalation = escalation,
        ExitCode = exit?.ExitCode,
        DeleteConfirmedBy = outcome == StopOutcome.Stopped ? exit?.DeleteConfirmedBy ?? DeleteConfirmation.None : DeleteConfirmation.None,
        ExitedAt = exit?.ExitedAt,
        OOMKilled = exit?.OomKilled ?? false,
        Duration = _clock.Elapsed,
        SignalHandled = _signalHandled,
        TimeToExit = _signalledAt is DateTime at && exit?.ExitedAt is DateTime end && outcome != StopOutcome.AlreadyStopped
            ? (end > at ? end - at : TimeSpan.Zero)
            : null,
        Steps = Snapshot(),
        Error = error,
    };
}
