using PSContainerd.Containerd;

namespace PSContainerd.Engine;

/// <summary>What became of a removal: done, or why the record was kept.</summary>
internal enum RemovalOutcome
{
    Removed,

    /// <summary>Another process held the container's lock (a start or a restart in progress) past <see cref="ContainerLock.DefaultTimeout"/>.</summary>
    LockHeld,

    /// <summary>The container has a live task (started again meanwhile, or never stopped).</summary>
    Live,

    /// <summary>A live task containerd would not delete (its process does not die, or its shim does not answer).</summary>
    Undeletable,
}

/// <summary>A removal's outcome; the task that kept the record, and containerd's refusal, when there was one.</summary>
internal sealed record Removal(RemovalOutcome Outcome, TaskInfo? Task = null, ContainerdException? Error = null);

/// <summary>
/// The one way a container's record goes, for Remove-Container and New-Container -AutoRemove
/// alike (moby's RemovalInProgress): the look at the task and the record's delete as one step
/// against every start. It runs on the container's queue (its caller's), against this engine's
/// starts and restarts, and under the container's lock, against other processes' (a start holds
/// it from its look at the task until the task runs). Without both, another session's task create
/// could land between the look and the delete and outlive the record, invisible with its shim. A
/// stopped task is deleted first; a live one keeps the record. containerd's failures other than
/// NotFound are thrown: the caller says them (an error, or a diagnostic), and nothing is deleted
/// after one.
/// </summary>
internal sealed class RecordRemover
{
    private readonly ContainerdClient _client;
    private readonly ContainerLock _lock;
    private readonly Action<ContainerState> _forget;

    /// <param name="forget">Drops the container from the engine once removed.</param>
    public RecordRemover(ContainerdClient client, ContainerLock containerLock, Action<ContainerState> forget)
    {
        _client = client;
        _lock = containerLock;
        _forget = forget;
    }

    public async Task<Removal> RemoveUnlessStartedAsync(ContainerState s, CancellationToken ct)
    {
        using var held = await _lock.AcquireAsync(s.Id, ContainerLock.DefaultTimeout, ct).ConfigureAwait(false);
        if (held is null)
        {
            return new Removal(RemovalOutcome.LockHeld);
        }

        var task = await _client.GetTaskAsync(s.Id, ct).ConfigureAwait(false);
        if (IsLive(task))
        {
            return new Removal(RemovalOutcome.Live, task);
        }

        // Also with no task listed: containerd restarted while a task create was in flight can hold
        // a task it does not list, which a delete still reaches (NotFound when there is none).
        try
        {
            await _client.DeleteTaskAsync(s.Id, ct).ConfigureAwait(false);
        }
        catch (ContainerdException e) when (e.Kind == ContainerdErrorKind.NotFound)
        {
        }
        catch (ContainerdException e)
        {
            // A task containerd would not delete still runs (or its shim does not answer):
            // deleting the record now would orphan it.
            var now = await _client.GetTaskAsync(s.Id, ct).ConfigureAwait(false);
            if (IsLive(now))
            {
                return new Removal(RemovalOutcome.Undeletable, now, e);
            }
        }

        try
        {
            await _client.DeleteContainerWithSnapshotAsync(s.Id, ct).ConfigureAwait(false);
        }
        catch (ContainerdException e) when (e.Kind == ContainerdErrorKind.NotFound)
        {
        }

        DefaultLogs.Delete(_client.Address, _client.Namespace, s.Id);
        _forget(s);
        return new Removal(RemovalOutcome.Removed);
    }

    public static bool IsLive(TaskInfo? task) => task is not null && task.Status != Containerd.TaskStatus.Stopped;
}
