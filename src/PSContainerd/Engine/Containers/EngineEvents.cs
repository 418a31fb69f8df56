using System.Threading.Channels;

namespace PSContainerd.Engine;

/// <summary>Fans the engine's <see cref="ContainerEvent"/>s out to every listener (Get-ContainerEvent, the monitor job).</summary>
public sealed class EngineEvents
{
    private readonly object _gate = new();
    private readonly string _address;

    /// <param name="address">The socket of the engine whose events these are; every event carries it.</param>
    public EngineEvents(string address) => _address = address;
    private readonly List<Channel<ContainerEvent>> _listeners = new();

    /// <summary>A listener that sees every event from now on; dispose the reader's subscription with <see cref="Unsubscribe"/>.</summary>
    public ChannelReader<ContainerEvent> Subscribe()
    {
        // Bounded so a listener that never reads cannot grow without limit; the oldest go first.
        var ch = Channel.CreateBounded<ContainerEvent>(new BoundedChannelOptions(10_000) { FullMode = BoundedChannelFullMode.DropOldest });
        lock (_gate)
        {
            _listeners.Add(ch);
        }

        return ch.Reader;
    }

    /// <summary>Whether anyone listens now (a Get-ContainerEvent, a monitor job).</summary>
    public bool HasListeners
    {
        get
        {
            lock (_gate)
            {
                return _listeners.Count > 0;
            }
        }
    }

    public void Unsubscribe(ChannelReader<ContainerEvent> reader)
    {
        lock (_gate)
        {
            _listeners.RemoveAll(c => c.Reader == reader);
        }
    }

    public void Publish(string @namespace, string id, string type, DateTime? at = null, params (string Key, string Value)[] attributes)
    {
        var ev = new ContainerEvent
        {
            Time = at ?? DateTime.UtcNow,
            Id = id,
            Namespace = @namespace,
            Address = _address,
            Type = type,
            Attributes = attributes.ToDictionary(a => a.Key, a => a.Value, StringComparer.Ordinal),
        };
        lock (_gate)
        {
            foreach (var l in _listeners)
            {
                l.Writer.TryWrite(ev);
            }
        }
    }

    public void CompleteAll()
    {
        lock (_gate)
        {
            foreach (var l in _listeners)
            {
                l.Writer.TryComplete();
            }

            _listeners.Clear();
        }
    }
}
