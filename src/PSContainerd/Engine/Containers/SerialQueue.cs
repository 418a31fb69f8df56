namespace PSContainerd.Engine;

/// <summary>Runs work items one after another, each after every earlier one; a failure does not stop the queue.</summary>
internal sealed class SerialQueue
{
    private readonly object _gate = new();
    private Task _tail = Task.CompletedTask;

    public Task Enqueue(Func<Task> work) => Enqueue<bool>(async () =>
    {
        await work().ConfigureAwait(false);
        return true;
    });

    public Task<T> Enqueue<T>(Func<Task<T>> work)
    {
        lock (_gate)
        {
            var next = _tail.ContinueWith(_ => work(), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default).Unwrap();
            _tail = next.ContinueWith(_ => { }, TaskScheduler.Default);
            return next;
        }
    }
}
