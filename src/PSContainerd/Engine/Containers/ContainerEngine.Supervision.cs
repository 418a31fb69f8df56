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
    /// Get-Container has none yet). Then the restarts the previous holder left (see <see cref="SweepAsync"/>).
    /// </summary>
    private async Task TakeOverAsync()
    {
        var backoff = TimeSpan.FromSeconds(1);
        while (Restarts.IsHolder)
        {
            try
            {
                await _monitor.WhenLiveAsync(TimeSpan.FromSeconds(10), CancellationToken.None).ConfigureAwait(false);
                await SweepAsync(CancellationToken.None).ConfigureAwait(false);
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

    /// <summary>
    /// The holder's look over every container the module manages, when it takes the duty and
    /// after every reconnect of its event stream (exits while the stream was down reach no
    /// handler, and a container this engine never loaded is not in its resync). Each candidate
    /// is put on its queue: containers recorded as restarting; an exit an engine that was not the
    /// holder recorded (and so deleted the task) while leaving the state running; an exit nobody
    /// finalised (the task still there, stopped). A container whose task vanished with no exit
    /// recorded (a host reboot) is Restore-ContainerState's, not the supervisor's.
    /// </summary>
    private async Task SweepAsync(CancellationToken ct)
    {
        var containers = await Client.ListContainersAsync(ct).ConfigureAwait(false);
        var tasks = (await Client.ListTasksAsync(ct).ConfigureAwait(false)).ToDictionary(t => t.ContainerId, StringComparer.Ordinal);
        foreach (var c in containers)
        {
            var task = tasks.GetValueOrDefault(c.Id);
            if (NeedsSupervisor(c.Labels, task))
            {
                var s = StateOf(c.Id);
                _ = s.Enqueue(() => SuperviseAsync(s));
            }
        }
    }

    /// <summary>Whether a container, as containerd records it now, has a restart the holder must decide or carry out.</summary>
    internal static bool NeedsSupervisor(IReadOnlyDictionary<string, string> labels, TaskInfo? task)
    {
        if (!StateLabels.IsManaged(labels))
        {
            return false;
        }

        string? state = labels.Get(StateLabels.State);
        if (state == StateLabels.StateRestarting)
        {
            return true;
        }

        if (state != StateLabels.StateRunning || RestartManager.IsManuallyStopped(labels))
        {
            return false;
        }

        if (task is { Status: Containerd.TaskStatus.Stopped })
        {
            return RestartManager.WouldRestart(labels, (int)task.ExitStatus, false);
        }

        var recorded = RecordedExit.FromLabels(labels);
        var started = StateLabels.ParseTime(labels.Get(StateLabels.StartedAt));
        return task is null && recorded is { ExitedAt: DateTime at } && (started is null || at >= started)
            && RestartManager.WouldRestart(labels, recorded.ExitCode ?? 255, false);
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
            else if (!s.IsRemoved)
            {
                // Known here already: follow the record and the task as they are now (an exit
                // missed while the stream was down is finalised, and decided, by this holder).
                var rec = await Client.GetContainerAsync(s.Id).ConfigureAwait(false);
                s.BindRecord(rec.CreatedAt);
                s.RefreshLabels(rec.Labels);
                await ReconcileAsync(s, await Client.GetTaskAsync(s.Id).ConfigureAwait(false)).ConfigureAwait(false);
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
