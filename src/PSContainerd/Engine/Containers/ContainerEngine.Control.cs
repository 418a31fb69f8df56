using PSContainerd.Containerd;

namespace PSContainerd.Engine;

/// <summary>Signalling, pausing and resuming a running container: the calls that act on a live task.</summary>
public sealed partial class ContainerEngine
{
    /// <summary>docker kill: one signal, no escalation. A stop signal sent by hand counts as a manual stop (no restart).</summary>
    public async Task SignalAsync(string id, int signal, bool all, CancellationToken ct = default)
    {
        var s = await TrackAsync(id, ct).ConfigureAwait(false);
        if (!s.IsLive)
        {
            throw new ContainerdException(ContainerdErrorKind.FailedPrecondition, Address, $"Container '{id}' is not running.");
        }

        var stopSignal = StopSettings.Resolve(s.Labels, null, null, new List<string>()).Signal;
        if (Manages && (signal == Signals.SIGKILL || signal == stopSignal))
        {
            // On the queue, as every transition: never between an exit's finalisation and its restart decision.
            await s.Enqueue(async () =>
            {
                s.MarkManuallyStopped();
                s.RefreshLabels((await StateStore.RecordManualStopAsync(id, s.Labels, ct).ConfigureAwait(false)).Labels);
            }).WaitAsync(ct).ConfigureAwait(false);
        }

        try
        {
            await Client.KillAsync(id, signal, all, ct).ConfigureAwait(false);
        }
        catch (ContainerdException e) when (e.Kind == ContainerdErrorKind.NotFound)
        {
            throw new ContainerdException(ContainerdErrorKind.FailedPrecondition, Address, $"Container '{id}' is not running (its process already finished).", e);
        }

        Events.Publish(Namespace, id, EventTypes.Kill, null, ("Signal", Signals.Name(signal)), ("All", all ? "true" : "false"));
    }

    /// <summary>
    /// docker pause. containerd answers NotFound for a container without a task, which would read
    /// as "no such container": say "not running" instead. Pausing a paused task is a no-op. The
    /// state is marked paused as soon as containerd answers, not when the /tasks/paused event
    /// arrives: a stop issued right after must know to resume the task so its signal is
    /// delivered (moby#15853).
    /// </summary>
    public async Task PauseAsync(string id, CancellationToken ct = default)
    {
        var task = await LiveTaskAsync(id, ct).ConfigureAwait(false);
        if (!task.Status.IsPaused())
        {
            await Client.PauseAsync(id, ct).ConfigureAwait(false);
        }

        if (_states.TryGetValue(id, out var s))
        {
            s.SetPaused(true);
        }
    }

    /// <summary>docker unpause; resuming a task that is not paused is a no-op.</summary>
    public async Task ResumeAsync(string id, CancellationToken ct = default)
    {
        var task = await LiveTaskAsync(id, ct).ConfigureAwait(false);
        if (task.Status.IsPaused())
        {
            await Client.ResumeAsync(id, ct).ConfigureAwait(false);
        }

        if (_states.TryGetValue(id, out var s))
        {
            s.SetPaused(false);
        }
    }

    private async Task<TaskInfo> LiveTaskAsync(string id, CancellationToken ct)
    {
        var task = await Client.GetTaskAsync(id, ct).ConfigureAwait(false);
        if (task is null || task.Status is Containerd.TaskStatus.Stopped or Containerd.TaskStatus.Created)
        {
            // Existence first, so a container removed meanwhile still reads as not found.
            await GetRecordAsync(id, ct).ConfigureAwait(false);
            throw new ContainerdException(ContainerdErrorKind.FailedPrecondition, Address,
                $"Container '{id}' is not running{(task is null ? " (it has no task)" : $" (its task is {task.Status.ToString().ToLowerInvariant()})")}.");
        }

        return task;
    }
}
