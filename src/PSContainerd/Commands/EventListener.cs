using System.Management.Automation;
using PSContainerd.Engine;

namespace PSContainerd.Commands;

/// <summary>
/// One Get-ContainerEvent listening: the engine's events filtered by id and type patterns,
/// until a timeout, a number of events, or cancellation. Shared by the cmdlet and its -AsJob job.
/// </summary>
internal sealed class EventListener
{
    private readonly ContainerEngine _engine;
    private readonly List<WildcardPattern> _ids;
    private readonly List<WildcardPattern> _types;
    private readonly int _timeoutSeconds;
    private readonly int _maxEvents;

    public EventListener(ContainerEngine engine, IEnumerable<string> ids, IEnumerable<string> types, int timeoutSeconds, int maxEvents)
    {
        _engine = engine;
        _ids = ids.Select(i => new WildcardPattern(i, WildcardOptions.IgnoreCase)).ToList();
        _types = types.Select(t => new WildcardPattern(t, WildcardOptions.IgnoreCase)).ToList();
        _timeoutSeconds = timeoutSeconds;
        _maxEvents = maxEvents;
    }

    public ContainerEngine Engine => _engine;

    /// <summary>
    /// Calls <paramref name="onLive"/> once the engine's event stream is live, then
    /// <paramref name="onEvent"/> per matching event. Ends normally at the timeout or the maximum;
    /// throws OperationCanceledException when <paramref name="ct"/> is cancelled.
    /// </summary>
    public async Task RunAsync(Action onLive, Action<ContainerEvent> onEvent, CancellationToken ct)
    {
        using var timeout = _timeoutSeconds < 0 ? new CancellationTokenSource() : new CancellationTokenSource(TimeSpan.FromSeconds(_timeoutSeconds));
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
        var reader = _engine.Events.Subscribe();
        try
        {
            await _engine.WhenMonitoringAsync(linked.Token).ConfigureAwait(false);
            onLive();
            int written = 0;
            await foreach (var ev in reader.ReadAllAsync(linked.Token).ConfigureAwait(false))
            {
                if (Matches(ev))
                {
                    onEvent(ev);
                    if (++written >= _maxEvents)
                    {
                        return;
                    }
                }
            }
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            // -Timeout reached: a normal end.
        }
        finally
        {
            _engine.Events.Unsubscribe(reader);
        }
    }

    private bool Matches(ContainerEvent ev) =>
        (_ids.Count == 0 || _ids.Any(p => p.IsMatch(ev.Id))) && (_types.Count == 0 || _types.Any(p => p.IsMatch(ev.Type)));
}
