using System.Collections.Concurrent;
using PSContainerd.Containerd;

namespace PSContainerd.Engine;

/// <summary>
/// Deletes an exited init process's task, whose answer carries the exit status: retried while
/// containerd restarts, and while the shim has not reaped the process the pidfd already saw go.
/// </summary>
internal sealed class TaskDeleter
{
    /// <summary>How long a task delete is retried while containerd is unavailable: a restart of the daemon, not an outage.</summary>
    public static readonly TimeSpan UnavailableRetry = TimeSpan.FromSeconds(15);

    /// <summary>
    /// A task delete tears the shim down; with a hundred stops at once containerd took over 5 s
    /// for some (bench: 100 containers), and a delete cut short loses the exit status it carries.
    /// </summary>
    public static readonly TimeSpan DeleteDeadline = TimeSpan.FromSeconds(10);

    private readonly ContainerdClient _client;
    private readonly Action<string, string> _diagnostic;

    /// <param name="diagnostic">(container id, message) for failures nobody awaits.</param>
    public TaskDeleter(ContainerdClient client, Action<string, string> diagnostic)
    {
        _client = client;
        _diagnostic = diagnostic;
    }

    /// <returns>The exit status the delete (or a wait) reported, if any; why the task could not be
    /// deleted, if it could not; and whether containerd still says the task runs.</returns>
    public async Task<(ExitInfo? Exit, string? Failure, bool Running)> DeleteAsync(string id, bool retryUnavailable = true)
    {
        var client = _client;
        ExitInfo? waited = null;
        var unavailableUntil = retryUnavailable ? DateTime.UtcNow + UnavailableRetry : DateTime.MinValue;
        var backoff = TimeSpan.FromMilliseconds(100);
        for (int attempt = 0; attempt < 3; attempt++)
        {
            try
            {
                return (await client.DeleteTaskAsync(id, deadline: DeleteDeadline).ConfigureAwait(false), null, false);
            }
            catch (ContainerdException e) when (e.Kind == ContainerdErrorKind.Unavailable && DateTime.UtcNow < unavailableUntil)
            {
                // containerd restarting (the pidfd saw the exit while it was down): only its
                // answer carries the real exit status, so wait for it to come back.
                attempt--;
                await Task.Delay(backoff).ConfigureAwait(false);
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromSeconds(1).Ticks));
            }
            catch (ContainerdException e) when (e.Kind == ContainerdErrorKind.NotFound)
            {
                return (waited, null, false);
            }
            catch (ContainerdException e) when (IsStillRunning(e))
            {
                // The pidfd saw the exit before the shim reaped it: let the shim catch up.
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                waited = await QuietCalls.OrNull<ExitInfo>(async () => await client.WaitAsync(id, cts.Token)).ConfigureAwait(false) ?? waited;
            }
            catch (ContainerdException e)
            {
                _diagnostic(id, $"task delete failed: {e.Message}");
                return (waited, $"{e.Kind}: {e.Message}", false);
            }
        }

        if (waited is null && await QuietCalls.OrNull(() => client.GetTaskAsync(id)).ConfigureAwait(false) is { Status: not Containerd.TaskStatus.Stopped })
        {
            return (null, "the task stayed running", true);
        }

        return (waited, waited is null ? "the task stayed running" : null, false);
    }

    /// <summary>
    /// Starts the task delete and returns once containerd confirms it: its <c>/tasks/delete</c>
    /// event (the shim has flushed the output, run <c>runc delete</c> and unmounted) or the
    /// delete's reply, whichever comes first. The delete itself is returned for the caller to
    /// await before anything else on the queue. A delete that failed confirms nothing.
    /// </summary>
    public async Task<(Task Deleting, RecordedExit Exit)> DeleteConfirmedAsync(ContainerState s, RecordedExit exit)
    {
        var seen = s.Delete.Expect(s.Pid);
        var deleting = DeleteAsync(s.Id);
        HoldProcessExitFor(deleting);
        if (await Task.WhenAny(deleting, seen).ConfigureAwait(false) == seen)
        {
            return (deleting, exit with { DeleteConfirmedBy = DeleteConfirmation.Event });
        }

        s.Delete.Forget();
        var (_, failure, _) = await deleting.ConfigureAwait(false);
        return (deleting, exit with { DeleteConfirmedBy = failure is null ? DeleteConfirmation.Reply : DeleteConfirmation.None });
    }

    private static readonly ConcurrentDictionary<Task, bool> InFlightDeletes = new();
    private static int _processExitHeld;

    /// <summary>
    /// A stop returns before its task delete has finished: a `pwsh -c Stop-Container` must not
    /// end the process, and cut the delete's call short (containerd then cancels its teardown
    /// midway), while one is in flight. The process's exit waits for them, at most
    /// <see cref="DeleteDeadline"/>.
    /// </summary>
    private static void HoldProcessExitFor(Task deleting)
    {
        if (Interlocked.Exchange(ref _processExitHeld, 1) == 0)
        {
            AppDomain.CurrentDomain.ProcessExit += (_, _) =>
            {
                try
                {
                    Task.WhenAll(InFlightDeletes.Keys).Wait(DeleteDeadline);
                }
                catch (AggregateException)
                {
                    // a failed delete was said where it failed; the process may go
                }
            };
        }

        InFlightDeletes[deleting] = true;
        _ = deleting.ContinueWith(t => InFlightDeletes.TryRemove(t, out _), TaskScheduler.Default);
    }

    /// <summary>A delete of a process the shim has not reaped yet (containerd 1.6: <see cref="ContainerdException.ProcessStillRunning"/>).</summary>
    private static bool IsStillRunning(ContainerdException e) =>
        e.Kind == ContainerdErrorKind.FailedPrecondition || e.ProcessStillRunning;
}
