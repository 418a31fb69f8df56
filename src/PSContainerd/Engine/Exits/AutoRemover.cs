using PSContainerd.Containerd;

namespace PSContainerd.Engine;

/// <summary>
/// New-Container -AutoRemove: the record and its snapshot go with the exit, the way
/// Remove-Container takes them (<see cref="RecordRemover"/>: under the container's lock across
/// processes, after a look at the task). What keeps the container is said as a diagnostic, since
/// nobody awaits an auto-remove.
/// </summary>
internal sealed class AutoRemover
{
    private readonly RecordRemover _remover;
    private readonly Action<string, string> _diagnostic;

    /// <param name="remover">The engine's removal of a record, Remove-Container's own.</param>
    /// <param name="diagnostic">(container id, message) for what nobody awaits.</param>
    public AutoRemover(RecordRemover remover, Action<string, string> diagnostic)
    {
        _remover = remover;
        _diagnostic = diagnostic;
    }

    /// <summary>On the container's queue, once its exit is recorded and no restart follows.</summary>
    public async Task RemoveAsync(ContainerState s)
    {
        Removal r;
        try
        {
            r = await _remover.RemoveUnlessStartedAsync(s, CancellationToken.None).ConfigureAwait(false);
        }
        catch (ContainerdException e)
        {
            _diagnostic(s.Id, $"auto-remove failed ({e.Message}); the container is kept");
            return;
        }

        string? kept = r.Outcome switch
        {
            RemovalOutcome.LockHeld => $"another process held the container's lock for {ContainerLock.DefaultTimeout.TotalSeconds:0} s (a start in progress)",
            RemovalOutcome.Live => $"started again meanwhile (pid {r.Task!.Pid}, {r.Task.Status.ToString().ToLowerInvariant()})",
            RemovalOutcome.Undeletable => $"its task (pid {r.Task!.Pid}) could not be deleted ({r.Error!.Message})",
            _ => null,
        };
        if (kept is not null)
        {
            _diagnostic(s.Id, $"auto-remove: {kept}; the container is kept");
        }
    }
}
