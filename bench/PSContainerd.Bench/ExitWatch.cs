using System.Collections.Concurrent;
using System.Diagnostics;
using PSContainerd.Containerd;

namespace PSContainerd.Bench;

/// <summary>
/// The bench's own subscription to one namespace's /tasks/exit events: when each container's
/// init process exit reached a client (a Stopwatch timestamp) and with which status.
/// </summary>
internal sealed class ExitWatch : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource<(long At, uint Status)>> _exits = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _cts = new();
    private Task _loop = Task.CompletedTask;

    private ExitWatch(ContainerdClient client) => Client = client;

    public ContainerdClient Client { get; }

    public static async Task<ExitWatch> Start(string address, string ns)
    {
        var w = new ExitWatch(new ContainerdClient(address, ns));
        var live = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        string token = $"bench-{Guid.NewGuid():N}";
        w._loop = Task.Run(async () =>
        {
            // Subscribed again whenever the stream ends (a connection dropped under load): an
            // exit in the gap is found by the callers' own look at the task (StopAll).
            while (!w._cts.IsCancellationRequested)
            {
                try
                {
                    await foreach (var ev in w.Client.SubscribeAsync(new[] { $"namespace=={ns},topic==\"/tasks/exit\"", $"namespace=={ns},topic==\"/pscontainerd/bench\"" }, w._cts.Token))
                    {
                        if (ev is MarkerEvent)
                        {
                            live.TrySetResult();
                        }
                        else if (ev is TaskExitEvent { IsInit: true } exit)
                        {
                            w.Of(exit.ContainerId).TrySetResult((Stopwatch.GetTimestamp(), exit.ExitStatus));
                        }
                    }
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                catch (ContainerdException e)
                {
                    if (!live.Task.IsCompleted)
                    {
                        live.TrySetException(e);
                        return;
                    }
                }

                Console.Error.WriteLine($"    the bench's event stream of namespace {ns} ended; subscribing again");
                try
                {
                    await Task.Delay(200, w._cts.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        });
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!live.Task.IsCompleted)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"the event stream of namespace {ns} never came live");
            }

            await w.Client.PublishMarkerAsync("/pscontainerd/bench", token);
            await Task.WhenAny(live.Task, Task.Delay(100));
        }

        await live.Task;
        return w;
    }

    /// <summary>Call before the signal, so an exit that comes first is not missed.</summary>
    public Task<(long At, uint Status)> Expect(string id) => Of(id).Task;

    public void Forget(string id) => _exits.TryRemove(id, out _);

    /// <summary>An exit found by a look at the task rather than by the stream (one lost while it was down).</summary>
    public void Found(string id, uint status) => Of(id).TrySetResult((Stopwatch.GetTimestamp(), status));

    private TaskCompletionSource<(long At, uint Status)> Of(string id) =>
        _exits.GetOrAdd(id, _ => new TaskCompletionSource<(long, uint)>(TaskCreationOptions.RunContinuationsAsynchronously));

    public async ValueTask DisposeAsync()
    {
        _cts.Cancel();
        await _loop.ConfigureAwait(false);
        _cts.Dispose();
    }
}
