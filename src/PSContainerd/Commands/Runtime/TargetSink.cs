using System.Management.Automation;
using PSContainerd.Engine;

namespace PSContainerd.Commands;

/// <summary>
/// The sink one container's work writes to: results leave with the socket and namespace they came
/// from, so the next cmdlet in the pipeline binds them (`Get-Container -Address B | Stop-Container`
/// acts on B).
/// </summary>
internal sealed class TargetSink : IOutputSink
{
    private readonly IOutputSink _inner;
    private readonly ContainerEngine _engine;

    public TargetSink(IOutputSink inner, ContainerEngine engine)
    {
        _inner = inner;
        _engine = engine;
    }

    /// <summary>Sets Address (and Namespace where the engine leaves it empty) on the module's result types.</summary>
    public static T Stamp<T>(T value, ContainerEngine engine)
    {
        switch (value)
        {
            case ContainerInfo i:
                i.Address = engine.Address;
                break;
            case StopResult s:
                s.Address = engine.Address;
                break;
            case WaitResult w:
                w.Address = engine.Address;
                w.Namespace = engine.Namespace;
                break;
            case RestoreResult r:
                r.Address = engine.Address;
                r.Namespace = engine.Namespace;
                if (r.Stop is not null)
                {
                    r.Stop.Address = engine.Address;
                }

                break;
            case ContainerEvent e:
                e.Address = engine.Address;
                break;
        }

        return value;
    }

    public void Output(object value) => _inner.Output(Stamp(value, _engine));

    public void Error(ErrorRecord record) => _inner.Error(record);

    public void Verbose(string text) => _inner.Verbose(text);

    public void Warning(string text) => _inner.Warning(text);

    public void Debug(string text) => _inner.Debug(text);

    public void Progress(ProgressRecord record) => _inner.Progress(record);
}
