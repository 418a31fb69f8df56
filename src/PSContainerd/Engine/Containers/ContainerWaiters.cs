namespace PSContainerd.Engine;

/// <summary>
/// The waiters on one container (moby's container.State.Wait): NotRunning completes when the
/// container is not running, NextExit at its next exit, Removed at its deletion. Not thread-safe:
/// <see cref="ContainerState"/> calls it only under its lock, in step with its status; the
/// completions it returns are run by the caller once out of that lock.
/// </summary>
internal sealed class ContainerWaiters
{
    private TaskCompletionSource<RecordedExit?> _nextExit = NewTcs<RecordedExit?>();
    private TaskCompletionSource<RecordedExit?> _notRunning = NewTcs<RecordedExit?>();
    private readonly TaskCompletionSource _removed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public bool IsRemoved => _removed.Task.IsCompleted;

    /// <summary>A new run begins: NotRunning waits for its end.</summary>
    public void RunBegins() => _notRunning = NewTcs<RecordedExit?>();

    /// <summary>The run ended: the NextExit and NotRunning waiters to wake; NextExit waits for the next run from now on.</summary>
    public (TaskCompletionSource<RecordedExit?> Next, TaskCompletionSource<RecordedExit?> NotRunning) RunEnded()
    {
        var ended = (_nextExit, _notRunning);
        _nextExit = NewTcs<RecordedExit?>();
        return ended;
    }

    /// <summary>The NotRunning waiters to wake: the container was found not running.</summary>
    public TaskCompletionSource<RecordedExit?> NotRunning => _notRunning;

    /// <summary>The waiters to wake at a removal (<see cref="MarkRemoved"/> once they are).</summary>
    public (TaskCompletionSource<RecordedExit?> Next, TaskCompletionSource<RecordedExit?> NotRunning) All => (_nextExit, _notRunning);

    public void MarkRemoved() => _removed.TrySetResult();

    /// <summary>The task a waiter on <paramref name="condition"/> awaits; already completed when the condition holds.</summary>
    /// <param name="lastExit">The container's last exit: read now, or for Removed once it is removed.</param>
    public Task<RecordedExit?> WaitTask(WaitCondition condition, bool live, Func<RecordedExit?> lastExit) => condition switch
    {
        WaitCondition.NextExit => IsRemoved ? Task.FromResult(lastExit()) : _nextExit.Task,
        WaitCondition.Removed => _removed.Task.ContinueWith(_ => lastExit(), TaskScheduler.Default),
        _ => live && !IsRemoved ? _notRunning.Task : Task.FromResult(lastExit()),
    };

    private static TaskCompletionSource<T> NewTcs<T>() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
