namespace PSContainerd.Engine;

/// <summary>
/// Engines nobody can use: one made for a mistyped -Address would otherwise live as long as the
/// session, re-subscribing to a socket that is not there. An engine that never reached containerd
/// (its event stream never went live), whose socket has been missing for <see cref="EvictAfter"/>,
/// that no call has asked for in that time and that no call or job uses now (nobody relays its
/// diagnostics, nobody reads its events), is disposed and dropped from the registry; the next call
/// for that address makes a new one. An engine that did reach containerd stays through any outage,
/// as before: it may hold the duty and pending restarts, and callers may keep it.
/// </summary>
public sealed partial class ContainerEngine
{
    private static readonly object EvictorGate = new();
    private static Timer? _evictor;

    private long _lastUsed = Environment.TickCount64;
    private long _missingSince;

    /// <summary>How long a socket must have been missing, and its engine unused, before the engine goes. Tests shorten it.</summary>
    internal static TimeSpan EvictAfter { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The engine registered for (<paramref name="address"/>, <paramref name="namespace"/>), if any, without making one.</summary>
    internal static ContainerEngine? Registered(string address, string @namespace) =>
        Engines.TryGetValue((address, @namespace), out var lazy) && lazy.IsValueCreated ? lazy.Value : null;

    /// <summary>Whether a call or a job uses this engine now: it relays the diagnostics or reads the events.</summary>
    private bool InUse => Diagnostic is not null || Events.HasListeners;

    /// <summary>A caller asked for this engine: it stays at least <see cref="EvictAfter"/> from now.</summary>
    private void Touch()
    {
        Interlocked.Exchange(ref _lastUsed, Environment.TickCount64);
        lock (EvictorGate)
        {
            var period = TimeSpan.FromTicks(Math.Max(TimeSpan.FromMilliseconds(100).Ticks, Math.Min(EvictAfter.Ticks / 4, TimeSpan.FromSeconds(5).Ticks)));
            _evictor ??= new Timer(_ => Evict(), null, period, period);
        }
    }

    private static void StopEvicting()
    {
        lock (EvictorGate)
        {
            _evictor?.Dispose();
            _evictor = null;
        }
    }

    /// <summary>One pass over the registry: disposes the engines whose socket stayed missing past the bound while unused.</summary>
    internal static void Evict()
    {
        long now = Environment.TickCount64;
        long bound = (long)EvictAfter.TotalMilliseconds;
        foreach (var entry in Engines.ToArray())
        {
            if (!entry.Value.IsValueCreated)
            {
                continue;
            }

            var e = entry.Value.Value;
            if (LockFile.SocketAt(e.Address, out _) is not null)
            {
                Interlocked.Exchange(ref e._missingSince, 0);
                continue;
            }

            long since = Interlocked.CompareExchange(ref e._missingSince, now, 0);
            if (since == 0 || now - since < bound || now - Interlocked.Read(ref e._lastUsed) < bound || e.InUse || e.MonitorGeneration > 0)
            {
                continue;
            }

            if (Engines.TryRemove(entry))
            {
                _ = e.DisposeEvictedAsync(now - since);
            }
        }
    }

    private async Task DisposeEvictedAsync(long missingMs)
    {
        Log($"no socket at '{Address}' for {missingMs / 1000} s and no caller: this engine for '{Namespace}' is dropped");
        try
        {
            await DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Nobody awaits a dropped engine: what it failed to release, it released as far as it could.
        }
    }
}
