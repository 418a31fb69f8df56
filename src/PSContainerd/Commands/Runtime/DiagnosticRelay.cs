using PSContainerd.Engine;

namespace PSContainerd.Commands;

/// <summary>
/// Carries what the engines a call (or a job) uses report of their background work (a label
/// write that failed, a restart that failed, an event stream that broke and was re-opened) to the
/// call's debug stream for as long as the call lasts: `Stop-Container -Debug` shows what went
/// wrong behind the stop, in the engine's own words, with the socket and namespace it came from.
/// Handlers run on engine threads, so they only post to the sink, which never blocks.
/// </summary>
internal sealed class DiagnosticRelay : IDisposable
{
    private readonly IOutputSink _sink;
    private readonly Dictionary<ContainerEngine, Action<string>> _handlers = new();
    private readonly object _gate = new();
    private bool _disposed;

    public DiagnosticRelay(IOutputSink sink) => _sink = sink;

    /// <summary>Relays <paramref name="engine"/>'s diagnostics from now until <see cref="Dispose"/>; once per engine.</summary>
    public void Watch(ContainerEngine engine)
    {
        lock (_gate)
        {
            if (_disposed || _handlers.ContainsKey(engine))
            {
                return;
            }

            Action<string> handler = text => _sink.Debug($"{text} ({engine.Where})");
            _handlers.Add(engine, handler);
            engine.Diagnostic += handler;
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            foreach (var (engine, handler) in _handlers)
            {
                engine.Diagnostic -= handler;
            }

            _handlers.Clear();
        }
    }
}
