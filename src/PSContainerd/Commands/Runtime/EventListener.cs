using System.Management.Automation;
using System.Threading.Channels;
using PSContainerd.Engine;

namespace PSContainerd.Commands;

/// <summary>
/// One Get-ContainerEvent listening: the events of each piped item's engine (socket and
/// namespace), filtered by that item's id patterns and the call's types, until a timeout, a
/// number of events, or cancellation. Shared by the cmdlet and its -AsJob job.
/// </summary>
internal sealed class EventListener
{
    private readonly IReadOnlyList<(ContainerEngine Engine, List<WildcardPattern> Ids)> _sources;
    private readonly HashSet<string> _types;
    private readonly int _timeoutSeconds;
    private readonly int _maxEvents;

    /// <param name="requests">Per engine, the id patterns to keep (none: every container).</param>
    public EventListener(IEnumerable<ContainerRequest> requests, IEnumerable<string> types, int timeoutSeconds, int maxEvents)
    {
        _sources = requests.GroupBy(r => r.Engine)
            .Select(g => (g.Key, g.Any(r => r.Ids is null)
                ? new List<WildcardPattern>()
                : g.SelectMany(r => r.Ids!).Select(i => new WildcardPattern(i, WildcardOptions.IgnoreCase)).ToList()))
            .ToList();
        _types = new HashSet<string>(types, StringComparer.OrdinalIgnoreCase);
        _timeoutSeconds = timeoutSeconds;
        _maxEvents = maxEvents;
    }

    /// <summary>Where it listens, for messages and Get-Job's Location.</summary>
    public string Location => string.Join(", ", _sources.Select(s => $"{s.Engine.Address} ({s.Engine.Namespace})"));

    /// <summary>
    /// Writes a verbose line to <paramref name="sink"/> once every engine's event stream is live,
    /// then each matching event as output. Ends normally at the timeout or the maximum; throws
    /// OperationCanceledException when <paramref name="ct"/> is cancelled.
    /// </summary>
    public async Task RunAsync(IOutputSink sink, CancellationToken ct)
    {
        using var timeout = _timeoutSeconds < 0 ? new CancellationTokenSource() : new CancellationTokenSource(TimeSpan.FromSeconds(_timeoutSeconds));
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
        var merged = Channel.CreateUnbounded<ContainerEvent>(new UnboundedChannelOptions { SingleReader = true });
        var readers = _sources.Select(s => (s.Engine, s.Ids, Reader: s.Engine.Events.Subscribe())).ToList();
        var pumps = new List<Task>();
        try
        {
            await Task.WhenAll(readers.Select(r => r.Engine.WhenMonitoringAsync(linked.Token))).ConfigureAwait(false);
            sink.Verbose($"Listening for events at {Location}.");
            foreach (var r in readers)
            {
                pumps.Add(ForwardAsync(r.Ids, r.Reader, merged.Writer, linked.Token));
            }

            int written = 0;
            await foreach (var ev in merged.Reader.ReadAllAsync(linked.Token).ConfigureAwait(false))
            {
                sink.Output(ev);
                if (++written >= _maxEvents)
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            // -Timeout reached: a normal end.
        }
        finally
        {
            foreach (var r in readers)
            {
                r.Engine.Events.Unsubscribe(r.Reader);
            }
        }
    }

    private async Task ForwardAsync(List<WildcardPattern> ids, ChannelReader<ContainerEvent> reader, ChannelWriter<ContainerEvent> into, CancellationToken ct)
    {
        try
        {
            await foreach (var ev in reader.ReadAllAsync(ct).ConfigureAwait(false))
            {
                if ((ids.Count == 0 || ids.Any(p => p.IsMatch(ev.Id))) && (_types.Count == 0 || _types.Contains(ev.Type)))
                {
                    into.TryWrite(ev);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
