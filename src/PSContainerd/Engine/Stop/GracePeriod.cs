namespace PSContainerd.Engine;

/// <summary>
/// The grace period of one stop: it runs from the stop signal (as docker's), or never ends for a
/// timeout of -1, and a joining caller with a shorter timeout can only bring it forward.
/// </summary>
internal sealed class GracePeriod
{
    private readonly object _gate = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private DateTime? _deadline;

    /// <summary>Sets the deadline to <paramref name="candidate"/> if that is earlier; true when it was.</summary>
    public bool BringForward(DateTime candidate)
    {
        if (candidate - DateTime.UtcNow >= ContainerEngine.LongestTimer)
        {
            return false;
        }

        TaskCompletionSource changed;
        lock (_gate)
        {
            if (_deadline is not null && _deadline <= candidate)
            {
                return false;
            }

            _deadline = candidate;
            changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        changed.TrySetResult();
        return true;
    }

    /// <summary>Starts the period at the signal: ends <paramref name="timeoutSeconds"/> later, unless a joiner already set an earlier end.</summary>
    public void StartAt(DateTime signalled, int timeoutSeconds)
    {
        // Past ~49.7 days no timer can run (Task.Delay): such a period is a wait for ever.
        if (timeoutSeconds >= 0 && TimeSpan.FromSeconds(timeoutSeconds) < ContainerEngine.LongestTimer)
        {
            BringForward(signalled.AddSeconds(timeoutSeconds));
        }
    }

    /// <summary>True when <paramref name="exited"/> completes within the period, false when the period ends first.</summary>
    public async Task<bool> WaitAsync(Task exited)
    {
        while (true)
        {
            DateTime? deadline;
            Task changed;
            lock (_gate)
            {
                deadline = _deadline;
                changed = _changed.Task;
            }

            if (exited.IsCompleted)
            {
                return true;
            }

            var left = deadline is null || deadline.Value - DateTime.UtcNow >= ContainerEngine.LongestTimer ? Timeout.InfiniteTimeSpan : deadline.Value - DateTime.UtcNow;
            if (left != Timeout.InfiniteTimeSpan && left <= TimeSpan.Zero)
            {
                return false;
            }

            using var cts = new CancellationTokenSource();
            var done = await Task.WhenAny(exited, changed, Task.Delay(left, cts.Token)).ConfigureAwait(false);
            cts.Cancel();
            if (done == exited)
            {
                return true;
            }

            // A deadline change or the delay: go round and look again, since the timer's clock
            // may run a hair ahead of DateTime.UtcNow's and must not escalate early.
            if (done != changed && deadline - DateTime.UtcNow <= TimeSpan.FromMilliseconds(0.5))
            {
                return exited.IsCompleted;
            }
        }
    }
}
