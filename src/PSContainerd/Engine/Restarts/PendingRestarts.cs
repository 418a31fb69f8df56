namespace PSContainerd.Engine;

/// <summary>
/// The one registry of restarts waiting out their backoff: at most one per container, each
/// cancelled by its token. A stop or a start takes it away; a newer schedule replaces it.
/// </summary>
internal sealed class PendingRestarts
{
    private readonly object _gate = new();
    private readonly Dictionary<ContainerState, CancellationTokenSource> _pending = new();

    /// <summary>A new pending restart for <paramref name="s"/>; the one it replaces, if any, is cancelled.</summary>
    public CancellationTokenSource Pend(ContainerState s)
    {
        var cts = new CancellationTokenSource();
        CancellationTokenSource? old;
        lock (_gate)
        {
            _pending.TryGetValue(s, out old);
            _pending[s] = cts;
        }

        old?.Cancel();
        return cts;
    }

    /// <summary>Cancels the restart waiting out its backoff, if any; true when there was one.</summary>
    public bool Cancel(ContainerState s)
    {
        CancellationTokenSource? cts;
        lock (_gate)
        {
            if (!_pending.Remove(s, out cts))
            {
                return false;
            }
        }

        cts.Cancel();
        return true;
    }

    /// <summary>Takes the pending restart if it is still <paramref name="cts"/> and not cancelled; false when something else came first.</summary>
    public bool Take(ContainerState s, CancellationTokenSource cts)
    {
        lock (_gate)
        {
            if (!_pending.TryGetValue(s, out var current) || current != cts || cts.IsCancellationRequested)
            {
                return false;
            }

            _pending.Remove(s);
            return true;
        }
    }

    public bool Has(ContainerState s)
    {
        lock (_gate)
        {
            return _pending.ContainsKey(s);
        }
    }

    /// <summary>Cancels every pending restart (the engine is going).</summary>
    public void CancelAll()
    {
        CancellationTokenSource[] all;
        lock (_gate)
        {
            all = _pending.Values.ToArray();
            _pending.Clear();
        }

        foreach (var cts in all)
        {
            cts.Cancel();
        }
    }
}
