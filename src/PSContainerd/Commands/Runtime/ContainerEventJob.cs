namespace PSContainerd.Commands;

/// <summary>
/// Get-ContainerEvent -AsJob: the engine's events collected in the background. Get-Job lists it,
/// Receive-Job yields the ContainerEvents gathered so far, Stop-Job stops it. It completes by
/// itself at -Timeout or -MaxEvents; without either it runs until stopped.
/// </summary>
public sealed class ContainerEventJob : BackgroundJob
{
    /// <summary>Events kept for Receive-Job at most; the oldest go first, so a job nobody reads cannot grow without bound.</summary>
    public const int MaxBuffered = 10_000;

    private readonly EventListener _listener;

    internal ContainerEventJob(EventListener listener, string command)
        : base(command, "ContainerEvents", "PSContainerdEventJob")
    {
        _listener = listener;
    }

    protected override int OutputLimit => MaxBuffered;

    public override string StatusMessage => $"{Output.Count} events waiting";

    public override string Location => _listener.Location;

    protected override Task RunAsync(CancellationToken ct) =>
        RunToEndAsync(() => _listener.RunAsync(Out, ct), _listener.Location, ct);
}
