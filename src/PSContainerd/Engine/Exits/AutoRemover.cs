using PSContainerd.Containerd;

namespace PSContainerd.Engine;

/// <summary>
/// New-Container -AutoRemove: the record and its snapshot go with the exit, the way
/// Remove-Container takes them: under the container's lock across processes, after a look at the
/// task. Another session's start holds that lock from its look at the task to its task create, so
/// it never leaves a task behind a deleted record, invisible with its shim.
/// </summary>
internal sealed class AutoRemover
{
    private readonly ContainerdClient _client;
    private readonly ContainerLock _lock;
    private readonly Action<string, string> _diagnostic;
    private readonly Action<ContainerState> _forget;

    /// <param name="diagnostic">(container id, message) for what nobody awaits.</param>
    /// <param name="forget">Drops the container from the engine once removed.</param>
    public AutoRemover(ContainerdClient client, ContainerLock containerLock, Action<string, string> diagnostic, Action<ContainerState> forget)
    {
        _client = client;
        _lock = containerLock;
        _diagnostic = diagnostic;
        _forget = forget;
    }

    /// <summary>On the container's queue, once its exit is recorded and no restart follows.</summary>
    public async Task RemoveAsync(ContainerState s)
    {
        using var held = await _lock.AcquireAsync(s.Id, ContainerLock.DefaultTimeout).ConfigureAwait(false);
        if (held is null)
        {
            _diagnostic(s.Id, $"auto-remove: another process held the container's lock for {ContainerLock.DefaultTimeout.TotalSeconds:0} s (a start in progress); the container is kept");
            return;
        }

        var task = await QuietCalls.OrNull(() => _client.GetTaskAsync(s.Id)).ConfigureAwait(false);
        if (task is not null)
        {
            // A task another session started since (its run may be over already): a stopped one
            // goes first, as Remove-Container deletes it, else the record's delete would orphan it.
            await _client.TryDeleteTaskAsync(s.Id).ConfigureAwait(false);
            if (await QuietCalls.OrNull(() => _client.GetTaskAsync(s.Id)).ConfigureAwait(false) is { } left)
            {
                _diagnostic(s.Id, $"auto-remove: started again meanwhile (pid {left.Pid}, {left.Status.ToString().ToLowerInvariant()}); the container is kept");
                return;
            }
        }

        await QuietCalls.Ignoring(() => _client.DeleteContainerWithSnapshotAsync(s.Id)).ConfigureAwait(false);
        DefaultLogs.Delete(_client.Address, _client.Namespace, s.Id);
        _forget(s);
    }
}
