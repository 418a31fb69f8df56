using System.Management.Automation;
using PSContainerd.Engine;

namespace PSContainerd.Commands;

/// <summary>
/// <para type="synopsis">Streams the lifecycle events the engine handles (Start, Exit, Oom, Paused, Resumed, Delete, Restart, ...).</para>
/// <para type="description">Events are written as they happen until -Timeout passes, -MaxEvents have been written, or Ctrl+C.</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "ContainerEvent")]
[OutputType(typeof(ContainerEvent))]
[OutputType(typeof(Job))]
public sealed class GetContainerEventCommand : ContainerdCmdlet
{
    /// <summary>Only events of these containers (wildcards allowed).</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    public string[]? Id { get; set; }

    /// <summary>Only events of these types (Start, Exit, Stop, Kill, Oom, Paused, Resumed, Delete, Restart, Restarting, ExecExit, ExitCorrected, Create, Update).</summary>
    [Parameter]
    [SupportsWildcards]
    public string[]? Type { get; set; }

    /// <summary>Seconds to listen; -1 (default) listens until Ctrl+C or -MaxEvents.</summary>
    [Parameter]
    [ValidateRange(-1, int.MaxValue)]
    public int Timeout { get; set; } = -1;

    /// <summary>Stop after this many events.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int MaxEvents { get; set; } = int.MaxValue;

    /// <summary>Returns a job at once that collects the events in the background (Receive-Job, Stop-Job).</summary>
    [Parameter]
    public SwitchParameter AsJob { get; set; }

    private readonly List<string> _ids = new();

    protected override void ProcessRecord()
    {
        if (Id is not null)
        {
            _ids.AddRange(Id);
        }
    }

    protected override void EndProcessing()
    {
        var listener = new EventListener(Engine, _ids, Type ?? Array.Empty<string>(), Timeout, MaxEvents);
        if (AsJob)
        {
            var job = new ContainerEventJob(listener, MyInvocation.Line);
            JobRepository.Add(job);
            job.Start();
            WriteObject(job);
            return;
        }

        Pump(async ct =>
        {
            try
            {
                await listener.RunAsync(() => EmitVerbose($"Listening for events in namespace '{Namespace}' at '{listener.Engine.Address}'."), Emit, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (ErrorRecords.TryFrom(e, Address, out var record))
            {
                EmitError(record);
            }
        });
    }
}
