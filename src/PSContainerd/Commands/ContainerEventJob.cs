using System.Management.Automation;

namespace PSContainerd.Commands;

/// <summary>
/// Get-ContainerEvent -AsJob: the engine's events collected in the background. Get-Job lists it,
/// Receive-Job yields the ContainerEvents gathered so far, Stop-Job stops it. It completes by
/// itself at -Timeout or -MaxEvents; without either it runs until stopped.
/// </summary>
public sealed class ContainerEventJob : Job
{
    /// <summary>Events kept for Receive-Job at most; the oldest go first, so a job nobody reads cannot grow without bound.</summary>
    public const int MaxBuffered = 10_000;

    private readonly EventListener _listener;
    private readonly CancellationTokenSource _cancel = new();

    internal ContainerEventJob(EventListener listener, string command)
        : base(command, "ContainerEvents")
    {
        _listener = listener;
        PSJobTypeName = "PSContainerdEventJob";
    }

    public override string StatusMessage => $"{Output.Count} events waiting";

    public override bool HasMoreData => Output.Count > 0 || Error.Count > 0 || Verbose.Count > 0;

    public override string Location => $"{_listener.Engine.Address} ({_listener.Engine.Namespace})";

    internal void Start()
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
        try
        {
            await _listener.RunAsync(
                () => Verbose.Add(new VerboseRecord($"Listening for events in namespace '{_listener.Engine.Namespace}' at '{_listener.Engine.Address}'.")),
                ev =>
                {
                    if (Output.Count >= MaxBuffered)
                    {
                        Output.RemoveAt(0);
                    }

                    Output.Add(PSObject.AsPSObject(ev));
                },
                _cancel.Token).ConfigureAwait(false);
            Finish(JobState.Completed);
        }
        catch (OperationCanceledException) when (_cancel.IsCancellationRequested)
        {
            Finish(JobState.Stopped);
        }
        catch (Exception e) when (ErrorRecords.TryFrom(e, _listener.Engine.Address, out var record))
        {
            Error.Add(record);
            Finish(JobState.Failed);
        }
    }

    private void Finish(JobState state)
    {
        if (JobStateInfo.State is not (JobState.Completed or JobState.Failed or JobState.Stopped))
        {
            SetJobState(state);
        }
    }
}
