namespace PSContainerd.Engine;

/// <summary>
/// A task delete waiting to be confirmed: completes when containerd's <c>/tasks/delete</c> event
/// for the expected pid reaches the engine, which it does off the container's queue while the
/// delete itself still runs on it. One expectation at a time.
/// </summary>
internal sealed class DeleteExpectation
{
    private readonly object _gate = new();
    private TaskCompletionSource<bool>? _seen;
    private uint _pid;

    /// <summary>Before a task delete: the task returned completes at <see cref="Seen"/> for <paramref name="pid"/>.</summary>
    public Task Expect(uint pid)
    {
        lock (_gate)
        {
            _pid = pid;
            _seen = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            return _seen.Task;
        }
    }

    /// <summary>containerd published <c>/tasks/delete</c> for <paramref name="pid"/> (0: any): an expected delete is confirmed.</summary>
    public void Seen(uint pid)
    {
        TaskCompletionSource<bool>? seen;
        lock (_gate)
        {
            if (_seen is null || (pid != 0 && _pid != 0 && pid != _pid))
            {
                return;
            }

            seen = _seen;
            _seen = null;
        }

        seen.TrySetResult(true);
    }

    /// <summary>Drops an expectation the delete's reply answered first.</summary>
    public void Forget()
    {
        lock (_gate)
        {
            _seen = null;
        }
    }
}
