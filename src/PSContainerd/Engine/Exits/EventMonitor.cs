using PSContainerd.Containerd;

namespace PSContainerd.Engine;

/// <summary>
/// One subscription to containerd's task and container events for a namespace, kept alive across
/// containerd restarts. containerd neither replays nor persists events, so after every
/// (re)subscribe, once the stream is known to be live, the engine resyncs (lists tasks) and finds
/// exits that happened while nobody listened (containerd#6771, moby#41240).
/// </summary>
internal sealed class EventMonitor : IAsyncDisposable
{
    public const string MarkerTopic = "/pscontainerd/sync";

    private static readonly TimeSpan MinBackoff = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(2);

    /// <summary>How long the re-probe of a containerd last seen unreachable may take.</summary>
    private static readonly TimeSpan ProbeDeadline = TimeSpan.FromSeconds(2);

    private readonly ContainerdClient _client;
    private readonly Func<ContainerdEvent, Task> _dispatch;
    private readonly Func<CancellationToken, Task> _resync;
    private readonly Action<string> _log;
    private readonly CancellationTokenSource _stop = new();
    private readonly object _gate = new();
    private TaskCompletionSource _live = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completed when an attempt to subscribe found containerd unreachable; renewed once live again.</summary>
    private TaskCompletionSource _failed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _loop;
    private int _disposed;

    /// <summary>Completed to cut the resubscribe backoff short (a caller found containerd back).</summary>
    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public EventMonitor(ContainerdClient client, Func<ContainerdEvent, Task> dispatch, Func<CancellationToken, Task> resync, Action<string> log)
    {
        _client = client;
        _dispatch = dispatch;
        _resync = resync;
        _log = log;
    }

    /// <summary>How many times the stream was (re)established and resynced; for tests and diagnostics.</summary>
    public int Generation { get; private set; }

    public Exception? LastError { get; private set; }

    public void Start()
    {
        lock (_gate)
        {
            _loop ??= Task.Run(() => RunAsync(_stop.Token));
        }
    }

    /// <summary>Completes once a subscription is live and resynced; fails with the connection error if containerd cannot be reached within <paramref name="timeout"/>.</summary>
    public async Task WhenLiveAsync(TimeSpan timeout, CancellationToken ct)
    {
        Start();
        Task live;
        lock (_gate)
        {
            live = _live.Task;
        }

        if (live.IsCompleted)
        {
            return;
        }

        Task failed;
        lock (_gate)
        {
            failed = _failed.Task;
        }

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var done = await Task.WhenAny(live, failed, Task.Delay(timeout, cts.Token)).ConfigureAwait(false);
        cts.Cancel();
        ct.ThrowIfCancellationRequested();
        if (done == failed && LastError is ContainerdException && !live.IsCompleted)
        {
            // The last attempt found nothing listening, or no permission. That may be old news:
            // ask containerd now, so a call made after it came back never sees the ended outage.
            try
            {
                await _client.VersionAsync(ct, ProbeDeadline).ConfigureAwait(false);
            }
            catch (ContainerdException now) when (now.Kind is ContainerdErrorKind.Unavailable or ContainerdErrorKind.PermissionDenied)
            {
                // Nothing listens, or we may not connect: say so now rather than after the timeout.
                throw;
            }
            catch (ContainerdException)
            {
                // It answers, if badly: let the stream try.
            }

            lock (_gate)
            {
                _wake.TrySetResult(); // resubscribe now, not after the backoff
                live = _live.Task;
            }

            using var again = CancellationTokenSource.CreateLinkedTokenSource(ct);
            await Task.WhenAny(live, Task.Delay(timeout, again.Token)).ConfigureAwait(false);
            again.Cancel();
            ct.ThrowIfCancellationRequested();
        }

        if (!live.IsCompleted)
        {
            throw LastError as ContainerdException ?? new ContainerdException(ContainerdErrorKind.Unavailable, _client.Address,
                $"containerd at '{_client.Address}' did not start delivering events within {timeout.TotalSeconds:0} s.", LastError);
        }
    }

    private async Task RunAsync(CancellationToken ct)
    {
        var backoff = MinBackoff;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await SubscribeOnceAsync(ct).ConfigureAwait(false);
                backoff = MinBackoff;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                LastError = e;
                if (e is ContainerdException { Kind: ContainerdErrorKind.Unavailable or ContainerdErrorKind.PermissionDenied })
                {
                    lock (_gate)
                    {
                        _failed.TrySetResult();
                    }
                }

                _log($"event stream broke: {e.Message}; resubscribing in {backoff.TotalMilliseconds:0} ms");
                lock (_gate)
                {
                    if (_live.Task.IsCompleted)
                    {
                        _live = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    }
                }

                Task wake;
                lock (_gate)
                {
                    if (_wake.Task.IsCompleted)
                    {
                        _wake = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    }

                    wake = _wake.Task;
                }

                using (var delay = CancellationTokenSource.CreateLinkedTokenSource(ct))
                {
                    await Task.WhenAny(Task.Delay(backoff, delay.Token), wake).ConfigureAwait(false);
                    delay.Cancel();
                }

                if (ct.IsCancellationRequested)
                {
                    return;
                }

                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
            }
        }
    }

    private async Task SubscribeOnceAsync(CancellationToken ct)
    {
        string ns = _client.Namespace;
        var filters = new[]
        {
            $"namespace=={ns},topic~=|^/tasks/|",
            $"namespace=={ns},topic~=|^/containers/|",
            $"namespace=={ns},topic==\"{MarkerTopic}\"",
        };
        string token = Guid.NewGuid().ToString("N");
        using var streamCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var markerSeen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var markers = PublishMarkersAsync(token, markerSeen.Task, streamCts);
        try
        {
            await foreach (var ev in _client.SubscribeAsync(filters, streamCts.Token).ConfigureAwait(false))
            {
                if (ev is MarkerEvent m)
                {
                    if (m.Token == token && markerSeen.TrySetResult())
                    {
                        await _resync(ct).ConfigureAwait(false);
                        Generation++;
                        LastError = null;
                        lock (_gate)
                        {
                            if (_failed.Task.IsCompleted)
                            {
                                _failed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                            }

                            _live.TrySetResult();
                        }
                    }

                    continue;
                }

                await _dispatch(ev).ConfigureAwait(false);
            }
        }
        finally
        {
            streamCts.Cancel();
            try
            {
                await markers.ConfigureAwait(false);
            }
            catch (Exception)
            {
                // The stream's own failure is the one worth reporting.
            }
        }
    }

    /// <summary>Publishes the marker until the stream shows it: the server registers the subscriber asynchronously.</summary>
    private async Task PublishMarkersAsync(string token, Task seen, CancellationTokenSource stream)
    {
        var ct = stream.Token;
        for (int attempt = 0; !seen.IsCompleted; attempt++)
        {
            if (attempt == 40)
            {
                // ~15 s without our own marker coming back: the stream is not what it seems.
                LastError = new ContainerdException(ContainerdErrorKind.Unavailable, _client.Address,
                    $"containerd at '{_client.Address}' accepted the event subscription but delivered no events.");
                stream.Cancel();
                return;
            }

            try
            {
                await _client.PublishMarkerAsync(MarkerTopic, token, ct).ConfigureAwait(false);
            }
            catch (ContainerdException e)
            {
                LastError = e;
            }

            var wait = TimeSpan.FromMilliseconds(Math.Min(50 * (attempt + 1), 500));
            await Task.WhenAny(seen, Task.Delay(wait, ct)).ConfigureAwait(false);
            ct.ThrowIfCancellationRequested();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _stop.Cancel();
        if (_loop is not null)
        {
            try
            {
                await _loop.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Shutting down: nothing left to report to.
            }
        }

        _stop.Dispose();
    }
}
