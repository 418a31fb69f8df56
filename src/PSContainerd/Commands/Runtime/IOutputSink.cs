using System.Management.Automation;

namespace PSContainerd.Commands;

/// <summary>
/// The one way the module's work writes: a cmdlet's (<c>AsyncCmdlet.Out</c>, pumped onto its
/// pipeline thread) or a job's (its streams). The same work runs in both, so a cmdlet and its
/// -AsJob cannot drift apart.
/// </summary>
public interface IOutputSink
{
    void Output(object value);

    void Error(ErrorRecord record);

    void Verbose(string text);

    void Warning(string text);

    /// <summary>A line for the debug stream: what the engine reports of its background work (<see cref="DiagnosticRelay"/>).</summary>
    void Debug(string text);

    void Progress(ProgressRecord record);
}
