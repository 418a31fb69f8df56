using PSContainerd.Containerd;

namespace PSContainerd.Engine;

/// <summary>
/// The exit sources besides the event stream, and the one seam they report through: every exit
/// seen (by Tasks.Wait, the init process's pidfd, a signal that found the process gone) goes to
/// <see cref="Observe"/>, which finalises it on the container's queue, where a second report of
/// the same exit is dropped.
/// </summary>
internal sealed class ExitSources
{
    /// <summary>How long an exit seen by the pidfd waits for containerd to report its status.</summary>
    public static readonly TimeSpan PidfdGrace = TimeSpan.FromSeconds(3);

    private readonly ContainerdClient _client;
    private readonly ExitRecorder _recorder;

    public ExitSources(ContainerdClient client, ExitRecorder recorder)
    {
        _client = client;
        _recorder = recorder;
    }

    /// <summary>Reports an exit seen by a source other than the event stream; finalised on the container's queue.</summary>
    public void Observe(ContainerState s, uint pid, ExitInfo? exit, string source) =>
        _ = s.Enqueue(() => _recorder.FinalizeAsync(s, pid, exit, source));

    /// <summary>The exit sources a stop races besides the event stream: Tasks.Wait and the pidfd.</summary>
    public void Watch(ContainerState s, uint pid, InitProcessHandle? handle, CancellationToken ct)
    {
        _ = WaitRpcAsync(s, pid, ct);
        if (handle is not null)
        {
            _ = WhenPidfdExitedAsync(s, pid, handle, ct);
        }
    }

    /// <summary>
    /// The pidfd knows the process is gone, not its exit status: that comes from containerd (the
    /// exit event or Tasks.Wait, both already on their way). Only when neither has reported
    /// within <see cref="PidfdGrace"/> (containerd down, shim hung) does the pidfd finalise the
    /// exit itself, through a task delete. Finalising at once would put a delete per container on
    /// an already loaded containerd and, cut short, lose the status.
    /// </summary>
    private async Task WhenPidfdExitedAsync(ContainerState s, uint pid, InitProcessHandle handle, CancellationToken ct)
    {
        try
        {
            await handle.WhenExited().WaitAsync(ct).ConfigureAwait(false);
            _recorder.ReadAfterExit.Start(s, pid); // the exit's record read, off the stop's path
            await Task.Delay(PidfdGrace, ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return; // the exit was finalised by another source, or the watch ended
        }

        Observe(s, pid, null, "pidfd");
    }

    private async Task WaitRpcAsync(ContainerState s, uint pid, CancellationToken ct)
    {
        var backoff = TimeSpan.FromMilliseconds(100);
        while (!ct.IsCancellationRequested)
        {
            try
            {
                var exit = await _client.WaitAsync(s.Id, ct).ConfigureAwait(false);
                Observe(s, pid, exit, "wait");
                return;
            }
            catch (ContainerdException e) when (e.Kind == ContainerdErrorKind.NotFound)
            {
                Observe(s, pid, null, "wait");
                return;
            }
            catch (ContainerdException)
            {
                // containerd restarting: the call is retried; the pidfd and resync cover the gap.
                try
                {
                    await Task.Delay(backoff, ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromSeconds(2).Ticks));
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
