using System.Management.Automation;
using PSContainerd.Engine;

namespace PSContainerd.Commands;

/// <summary>
/// One container's stop as Stop-Container, its -AsJob and Restart-Container run it: the engine's
/// stop with its steps as verbose lines, its warnings as warnings, the StopResult, then the errors
/// the result stands for (a refused signal, a failed stop).
/// </summary>
internal static class StopAction
{
    /// <param name="writeResult">False when the StopResult is a step of something larger (Restart-Container): its errors are still written.</param>
    public static async Task<StopResult> RunAsync(ContainerTarget target, int? signal, int? timeout, IOutputSink sink, CancellationToken ct, bool writeResult = true)
    {
        string id = target.Id;
        var result = await target.Engine.StopAsync(id, signal, timeout, step => sink.Verbose($"{id}: {step.Action}: {step.Detail}"), ct).ConfigureAwait(false);
        foreach (var w in result.Steps.Where(s => s.Action == "warning"))
        {
            sink.Warning($"{id}: {w.Detail}");
        }

        if (writeResult)
        {
            sink.Output(result);
        }
        foreach (var error in ErrorRecords.ForStop(result))
        {
            sink.Error(error);
        }

        return result;
    }
}
