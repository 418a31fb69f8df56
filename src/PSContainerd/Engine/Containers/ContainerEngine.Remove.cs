using PSContainerd.Containerd;

namespace PSContainerd.Engine;

/// <summary>Remove-Container: deleting a container's task and record without leaving either behind.</summary>
public sealed partial class ContainerEngine
{
    /// <summary>How many times a forced remove stops a container that another session started again meanwhile.</summary>
    private const int RemoveAttempts = 3;

    /// <summary>
    /// Deletes a stopped task and the container; with <paramref name="force"/> a live task is
    /// SIGKILLed first. The record of a live task is never deleted: when the kill did not end the
    /// process (D state, a hung shim) it refuses, as moby's "could not kill container", and says
    /// what the process is doing. Otherwise the container and its shim would live on, invisible.
    /// </summary>
    public async Task RemoveAsync(string id, bool force, CancellationToken ct = default)
    {
        for (int attempt = 1; ; attempt++)
        {
            var task = await Client.GetTaskAsync(id, ct).ConfigureAwait(false);
            if (IsLiveTask(task))
            {
                if (!force)
                {
                    throw StillLive(id, task!);
                }

                var stop = await StopAsync(id, Signals.SIGKILL, 0, null, ct).ConfigureAwait(false);
                if (stop.Outcome == StopOutcome.Failed)
                {
                    throw new ContainerdException(ContainerdErrorKind.FailedPrecondition, Address,
                        $"Could not kill container '{id}', so it was not removed: {stop.Error}");
                }
            }

            var s = StateOf(id);
            var started = await s.Enqueue(() => DeleteUnlessStartedAsync(s, force, ct)).WaitAsync(ct).ConfigureAwait(false);
            if (started is null)
            {
                return;
            }

            if (attempt >= RemoveAttempts)
            {
                throw new ContainerdException(ContainerdErrorKind.FailedPrecondition, Address,
                    $"Container '{id}' was not removed: it was started again {RemoveAttempts} times while being removed (pid {started.Pid}).");
            }
        }
    }

    /// <summary>
    /// The look at the task and the record delete, as one step against every start (moby's
    /// RemovalInProgress): on the container's queue, against this engine's starts and restarts,
    /// and under the container's lock, against other processes' (a start holds it from its look
    /// at the task until the task runs). Without both, another session's task create could land
    /// between the look and the delete and outlive the record, invisible with its shim. Returns
    /// the task a start made meanwhile (the record is kept), or null once both are gone.
    /// </summary>
    private async Task<TaskInfo?> DeleteUnlessStartedAsync(ContainerState s, bool force, CancellationToken ct)
    {
        Restarts.CancelPending(s);
        using var held = await Restarts.ContainerLock.AcquireAsync(s.Id, ContainerLock.DefaultTimeout, ct).ConfigureAwait(false);
        if (held is null)
        {
            throw new ContainerdException(ContainerdErrorKind.FailedPrecondition, Address,
                $"Container '{s.Id}' was not removed: another process held the container's lock for {ContainerLock.DefaultTimeout.TotalSeconds:0} s (a start or a restart in progress); try again.");
        }

        var task = await Client.GetTaskAsync(s.Id, ct).ConfigureAwait(false);
        if (IsLiveTask(task))
        {
            return force ? task : throw StillLive(s.Id, task!);
        }

        try
        {
            await Client.DeleteTaskAsync(s.Id, ct).ConfigureAwait(false);
        }
        catch (ContainerdException e) when (e.Kind == ContainerdErrorKind.NotFound)
        {
        }
        catch (ContainerdException e)
        {
            // A task containerd would not delete still runs (or its shim does not answer): deleting
            // the record now would orphan it.
            var now = await Client.GetTaskAsync(s.Id, ct).ConfigureAwait(false);
            if (IsLiveTask(now))
            {
                throw new ContainerdException(ContainerdErrorKind.FailedPrecondition, Address,
                    $"Container '{s.Id}' was not removed: its task is {now!.Status.ToString().ToLowerInvariant()} (pid {now.Pid}: {InitProcessHandle.Diagnose((int)now.Pid)}) and could not be deleted ({e.Message}).", e);
            }
        }

        try
        {
            await Client.DeleteContainerWithSnapshotAsync(s.Id, ct).ConfigureAwait(false);
        }
        catch (ContainerdException e) when (e.Kind == ContainerdErrorKind.NotFound)
        {
        }

        DefaultLogs.Delete(Address, Namespace, s.Id);
        Forget(s);
        return null;
    }

    private static bool IsLiveTask(TaskInfo? task) => task is not null && task.Status != Containerd.TaskStatus.Stopped;

    private ContainerdException StillLive(string id, TaskInfo task) =>
        new(ContainerdErrorKind.FailedPrecondition, Address,
            $"Container '{id}' is {task.Status.ToString().ToLowerInvariant()}: stop it first, or use -Force.");
}
