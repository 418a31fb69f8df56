using PSContainerd.Containerd;

namespace PSContainerd.Engine;

/// <summary>
/// Retries a write of the record others decide from (the labels) through what is transient:
/// containerd slow (DeadlineExceeded) or restarting (Unavailable). Doubling from 100 ms to 2 s,
/// within a bound; anything else, or the bound passed, is the caller's.
/// </summary>
internal static class TransientRetry
{
    public static bool IsTransient(ContainerdException e) =>
        e.Kind is ContainerdErrorKind.DeadlineExceeded or ContainerdErrorKind.Unavailable;

    /// <param name="retrying">Told of each failure retried and the pause before the next try.</param>
    public static async Task<T> RunAsync<T>(Func<Task<T>> write, TimeSpan bound, Action<ContainerdException, TimeSpan> retrying)
    {
        var until = DateTime.UtcNow + bound;
        var backoff = TimeSpan.FromMilliseconds(100);
        while (true)
        {
            try
            {
                return await write().ConfigureAwait(false);
            }
            catch (ContainerdException e) when (IsTransient(e) && DateTime.UtcNow + backoff < until)
            {
                retrying(e, backoff);
                await Task.Delay(backoff).ConfigureAwait(false);
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromSeconds(2).Ticks));
            }
        }
    }
}
