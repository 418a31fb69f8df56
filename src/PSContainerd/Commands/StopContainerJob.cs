using System.Management.Automation;
using PSContainerd.Engine;

namespace PSContainerd.Commands;

/// <summary>Stop-Container -AsJob: the stops run in the engine; Receive-Job yields their StopResults; Stop-Job ends the job's wait (the stops it began finish regardless).</summary>
public sealed class StopContainerJob : BackgroundJob
{
    private readonly IReadOnlyList<(ContainerEngine Engine, string Id)> _ids;
    private readonly int? _signal;
    private readonly int? _timeout;
    private readonly int _throttle;

    public StopContainerJob(IReadOnlyList<(ContainerEngine Engine, string Id)> ids, int? signal, int? timeout, int throttle, string command)
        : base(command, "Stop-Container", "PSContainerdStopJob")
    {
        _ids = ids;
        _signal = signal;
        _timeout = timeout;
        _throttle = throttle;
    }

    public override string StatusMessage => $"{Output.Count} of {_ids.Count} stopped";

    public override string Location => string.Join(", ", _ids.Select(i => i.Engine.Address).Distinct());

    protected override async Task RunAsync(CancellationToken ct)
    {
        using var throttle = new SemaphoreSlim(_throttle);
        bool failed = false;
        await Task.WhenAll(_ids.Select(async item =>
        {
            var (engine, raw) = item;
            await throttle.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                string id = await engine.ResolveAsync(raw, ct).ConfigureAwait(false);
                var r = await engine.StopAsync(id, _signal, _timeout, step => Verbose.Add(new VerboseRecord($"{id}: {step.Action}: {step.Detail}")), ct).ConfigureAwait(false);
                foreach (var w in r.Steps.Where(s => s.Action == "warning"))
                {
                    Warning.Add(new WarningRecord($"{id}: {w.Detail}"));
                }

                Output.Add(PSObject.AsPSObject(r));
                foreach (var error in ErrorRecords.ForStop(r))
                {
                    Error.Add(error);
                    failed = true;
                }
            }
            catch (Exception e) when (ErrorRecords.TryFrom(e, raw, out var record))
            {
                Error.Add(record);
                failed = true;
            }
            finally
            {
                throttle.Release();
            }
        })).ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);

        Finish(failed ? JobState.Failed : JobState.Completed);
    }
}
