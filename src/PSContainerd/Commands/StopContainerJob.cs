using System.Management.Automation;
using PSContainerd.Engine;

namespace PSContainerd.Commands;

/// <summary>Stop-Container -AsJob: the stops run in the engine; Receive-Job yields their StopResults; Stop-Job ends the job's wait (the stops it began finish regardless).</summary>
public sealed class StopContainerJob : Job
{
    private readonly IReadOnlyList<(ContainerEngine Engine, string Id)> _ids;
    private readonly int? _signal;
    private readonly int? _timeout;
    private readonly int _throttle;
    private readonly CancellationTokenSource _cancel = new();

    public StopContainerJob(IReadOnlyList<(ContainerEngine Engine, string Id)> ids, int? signal, int? timeout, int throttle, string command)
        : base(command, "Stop-Container")
    {
        _ids = ids;
        _signal = signal;
        _timeout = timeout;
        _throttle = throttle;
        PSJobTypeName = "PSContainerdStopJob";
    }

    public override string StatusMessage => $"{Output.Count} of {_ids.Count} stopped";

    public override bool HasMoreData => Output.Count > 0 || Error.Count > 0 || Verbose.Count > 0 || Warning.Count > 0;

    public override string Location => string.Join(", ", _ids.Select(i => i.Engine.Address).Distinct());

    public void Start()
    {
        SetJobState(JobState.Running);
        _ = Task.Run(RunAsync);
    }

    public override void StopJob()
    {
        _cancel.Cancel();
        SetJobState(JobState.Stopped);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _cancel.Cancel();
        }

        base.Dispose(disposing);
    }

    private async Task RunAsync()
    {
        using var throttle = new SemaphoreSlim(_throttle);
        bool failed = false;
        await Task.WhenAll(_ids.Select(async item =>
        {
            var (engine, raw) = item;
            await throttle.WaitAsync(_cancel.Token).ConfigureAwait(false);
            try
            {
                string id = await engine.ResolveAsync(raw, _cancel.Token).ConfigureAwait(false);
                var r = await engine.StopAsync(id, _signal, _timeout, step => Verbose.Add(new VerboseRecord($"{id}: {step.Action}: {step.Detail}")), _cancel.Token).ConfigureAwait(false);
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

        if (JobStateInfo.State == JobState.Running)
        {
            SetJobState(failed ? JobState.Failed : JobState.Completed);
        }
    }
}
