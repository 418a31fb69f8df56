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
            if (RecordRemover.IsLive(task))
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

    /// <summary>The one removal of a record: Remove-Container's here, and the exit recorder's auto-remove.</summary>
    private readonly RecordRemover _remover;

    /// <summary>
    /// The look at the task and the record delete as one step against every start
    /// (<see cref="RecordRemover"/>), with pending restarts cancelled first. Returns the task a
    /// start made meanwhile when <paramref name="force"/> (the record is kept, the caller stops it
    /// again), or null once both are gone; anything else that keeps the record is thrown.
    /// </summary>
    private async Task<TaskInfo?> DeleteUnlessStartedAsync(ContainerState s, bool force, CancellationToken ct)
    {
        Restarts.CancelPending(s);
        var r = await _remover.RemoveUnlessStartedAsync(s, ct).ConfigureAwait(false);
        return r.Outcome switch
        {
            RemovalOutcome.Removed => null,
            RemovalOutcome.Live when force => r.Task,
            RemovalOutcome.Live => throw StillLive(s.Id, r.Task!),
            RemovalOutcome.LockHeld => throw new ContainerdException(ContainerdErrorKind.FailedPrecondition, Address,
                $"Container '{s.Id}' was not removed: another process held the container's lock for {ContainerLock.DefaultTimeout.TotalSeconds:0} s (a start or a restart in progress); try again."),
            _ => throw new ContainerdException(ContainerdErrorKind.FailedPrecondition, Address,
                $"Container '{s.Id}' was not removed: its task is {r.Task!.Status.ToString().ToLowerInvariant()} (pid {r.Task.Pid}: {InitProcessHandle.Diagnose((int)r.Task.Pid)}) and could not be deleted ({r.Error!.Message}).", r.Error),
        };
    }

    private ContainerdException StillLive(string id, TaskInfo task) =>
        new(ContainerdErrorKind.FailedPrecondition, Address,
            $"Container '{id}' is {task.Status.ToString().ToLowerInvariant()}: stop it first, or use -Force.");
}
