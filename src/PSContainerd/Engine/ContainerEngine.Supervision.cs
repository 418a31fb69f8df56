using PSContainerd.Containerd;

namespace PSContainerd.Engine;

/// <summary>Taking the restart duty over: what a holder that died (or removed the module) left to do.</summary>
public sealed partial class ContainerEngine
{
    private readonly TaskCompletionSource _supervising = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when this engine holds the restart duty (at once if it does); cancel to stop waiting.</summary>
    public Task WhenSupervisorAsync(CancellationToken ct = default) => _supervising.Task.WaitAsync(ct);

    private void OnDutyAcquired()
    {
        _supervising.TrySetResult();
        Log($"restart supervisor: this process ({Environment.ProcessId}) holds the restart duty for '{Namespace}' at '{Address}'");
        Events.Publish(Namespace, string.Empty, EventTypes.SupervisorAcquired, null, ("ProcessId", Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        _ = TakeOverAsync();
    }

    /// <summary>
    /// The holder must see every exit, so its event stream starts now (an engine made for one
    /// Get-Container has none yet). Then the restarts the previous holder left: containers
    /// recorded as restarting, and exits recorded by an engine that was not the holder while
    /// nobody held the duty. A container whose task vanished with no exit recorded (a host
    /// reboot) is Restore-ContainerState's, not the supervisor's.
    /// </summary>
    private async Task TakeOverAsync()
    {
        var backoff = TimeSpan.FromSeconds(1);
        while (Restarts.IsHolder)
        {
            try
            {
                await _monitor.WhenLiveAsync(TimeSpan.FromSeconds(10), CancellationToken.None).ConfigureAwait(false);
                var containers = await Client.ListContainersAsync().ConfigureAwait(false);
                var tasks = (await Client.ListTasksAsync().ConfigureAwait(false)).ToDictionary(t => t.ContainerId, StringComparer.Ordinal);
                foreach (var c in containers)
                {
                    if (!c.Labels.Keys.Any(k => k.StartsWith(StateLabels.Prefix, StringComparison.Ordinal)))
                    {
                        continue;
                    }

                    var task = tasks.GetValueOrDefault(c.Id);
                    string? state = c.Labels.Get(StateLabels.State);
                    // An exit an engine recorded (and so deleted the task) while nobody held the duty;
                    // an exit nobody finalised (the task still there, stopped) is Restore-ContainerState's.
                    var recorded = RecordedExit.FromLabels(c.Labels);
                    var started = StateLabels.ParseTime(c.Labels.Get(StateLabels.StartedAt));
                    bool exitedUnrestarted = state == StateLabels.StateRunning && task is null
                        && recorded is { ExitedAt: DateTime at } && (started is null || at >= started)
                        && RestartManager.WouldRestart(c.Labels, recorded.ExitCode ?? 255, false);
                    if (state == StateLabels.StateRestarting || exitedUnrestarted)
                    {
                        var s = StateOf(c.Id);
                        _ = s.Enqueue(() => SuperviseAsync(s));
                    }
                }

                return;
            }
            catch (Exception e) when (e is ContainerdException or OperationCanceledException or TimeoutException)
            {
                Log($"restart supervisor: taking over failed ({e.Message}); trying again in {backoff.TotalSeconds:0} s");
                await Task.Delay(backoff).ConfigureAwait(false);
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));
            }
        }
    }

    /// <summary>One container the previous holder left: on its queue.</summary>
    private async Task SuperviseAsync(ContainerState s)
    {
        try
        {
            if (!s.Loaded)
            {
                await LoadAsync(s, CancellationToken.None, recordOnly: false).ConfigureAwait(false);
            }

            if (s.IsLive || s.HasPendingRestart || !Restarts.IsHolder)
            {
                return;
            }

            var labels = s.Labels;
            if (labels.Get(StateLabels.State) == StateLabels.StateRestarting)
            {
                s.SetNotRunning(ContainerStatus.Restarting, RecordedExit.FromLabels(labels));
                Restarts.ResumePending(s, StateLabels.ParseTime(labels.Get(StateLabels.RestartDue)) ?? DateTime.UtcNow);
                return;
            }

            var started = StateLabels.ParseTime(labels.Get(StateLabels.StartedAt));
            if (labels.Get(StateLabels.State) == StateLabels.StateRunning && s.LastExit is { ExitedAt: DateTime at } exit && (started is null || at >= started))
            {
                var decision = await Restarts.DecideAsync(s, exit).ConfigureAwait(false);
                if (decision.Restart)
                {
                    s.SetNotRunning(ContainerStatus.Restarting, exit);
                    await Restarts.ScheduleAsync(s, decision).ConfigureAwait(false);
                }
            }
        }
        catch (Exception e)
        {
            Diagnose(s.Id, $"restart supervisor: taking this container over failed: {e.Message}");
        }
    }
}
