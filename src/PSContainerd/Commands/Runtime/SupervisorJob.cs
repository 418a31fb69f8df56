using PSContainerd.Engine;

namespace PSContainerd.Commands;

/// <summary>
/// Start-ContainerSupervisor's job: keeps the engine's event stream up and reports (Receive-Job)
/// when this process takes the restart duty. Stop-Job ends the job; the duty stays with this
/// process while the module is loaded (every engine takes it when free), Remove-Module gives it up.
/// </summary>
public sealed class SupervisorJob : BackgroundJob
{
    private readonly ContainerEngine _engine;

    internal SupervisorJob(ContainerEngine engine, string command)
        : base(command, "ContainerSupervisor", "PSContainerdSupervisorJob")
    {
        _engine = engine;
        Diagnostics.Watch(engine);
    }

    public override string StatusMessage => _engine.IsSupervisor ? $"supervising since {_engine.SupervisorSince:u}" : "waiting for the restart duty";

    public override string Location => $"{_engine.Address} ({_engine.Namespace})";

    protected override Task RunAsync(CancellationToken ct) =>
        RunToEndAsync(() => SuperviseAsync(_engine, Out, ct), _engine.Address, ct);

    /// <summary>Watches containerd's events, waits for the duty, reports it, then runs until cancelled.</summary>
    internal static async Task SuperviseAsync(ContainerEngine engine, IOutputSink sink, CancellationToken ct)
    {
        await engine.WhenMonitoringAsync(ct).ConfigureAwait(false);
        if (!engine.IsSupervisor && ContainerEngine.SupervisorOf(engine.Address, engine.Namespace) is { } other)
        {
            sink.Verbose($"Process {other.ProcessId} holds the restart duty for namespace '{engine.Namespace}' at '{engine.Address}'; taking it when it is free.");
        }

        else if (engine.SupervisorProblem is { } problem)
        {
            sink.Verbose($"This process cannot hold the restart duty for namespace '{engine.Namespace}' at '{engine.Address}' yet: {problem}.");
        }

        await engine.WhenSupervisorAsync(ct).ConfigureAwait(false);
        sink.Verbose($"This process ({Environment.ProcessId}) holds the restart duty for namespace '{engine.Namespace}' at '{engine.Address}'.");
        var lockPath = ContainerEngine.LookAtSupervisor(engine.Address, engine.Namespace).LockPath;
        sink.Output(GetContainerSupervisorCommand.SupervisorInfoOf(engine.Address, engine.Namespace, Environment.ProcessId, engine.SupervisorSince, lockPath, true));
        await Task.Delay(Timeout.Infinite, ct).ConfigureAwait(false);
    }
}
