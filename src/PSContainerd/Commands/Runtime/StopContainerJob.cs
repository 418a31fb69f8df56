using System.Management.Automation;

namespace PSContainerd.Commands;

/// <summary>
/// Stop-Container -AsJob: the ids were resolved and confirmed by the cmdlet; the job runs the same
/// per-container stop under the same throttle. Receive-Job yields the StopResults. Stop-Job
/// cancels stops that have not begun; a stop whose signal went out finishes in the engine.
/// </summary>
public sealed class StopContainerJob : BackgroundJob
{
    private readonly IReadOnlyList<ContainerTarget> _targets;
    private readonly Func<ContainerTarget, IOutputSink, CancellationToken, Task> _stop;
    private readonly int _throttle;

    internal StopContainerJob(IReadOnlyList<ContainerTarget> targets, Func<ContainerTarget, IOutputSink, CancellationToken, Task> stop, int throttle, string command)
        : base(command, "Stop-Container", "PSContainerdStopJob")
    {
        _targets = targets;
        _stop = stop;
        _throttle = throttle;
        foreach (var engine in targets.Select(t => t.Engine).Distinct())
        {
            Diagnostics.Watch(engine);
        }
    }

    public override string StatusMessage => $"{Output.Count} of {_targets.Count} stopped";

    public override string Location => string.Join(", ", _targets.Select(t => t.Engine.Address).Distinct());

    protected override async Task RunAsync(CancellationToken ct)
    {
        try
        {
            await ContainerRunner.RunAsync(_targets, _throttle, _stop, this, ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Stop-Job: the state is already Stopped.
        }

        Finish(HadErrors ? JobState.Failed : JobState.Completed);
    }
}
