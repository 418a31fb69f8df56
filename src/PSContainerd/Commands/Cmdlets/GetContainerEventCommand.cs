using System.Management.Automation;
using PSContainerd.Engine;

namespace PSContainerd.Commands;

/// <summary>
/// <para type="synopsis">Streams the lifecycle events the engine handles (Start, Exit, Oom, Paused, Resumed, Delete, Restart, ...).</para>
/// <para type="description">Events are written as they happen until -Timeout passes, -MaxEvents have been written, or Ctrl+C.</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "ContainerEvent", HelpUri = HelpUris.Base + "Get-ContainerEvent.md")]
[OutputType(typeof(ContainerEvent))]
[OutputType(typeof(Job))]
public sealed class GetContainerEventCommand : ContainerdCmdlet
{
    private readonly List<ContainerRequest> _requests = new();

    /// <summary>Only events of these containers (wildcards allowed). Binds from piped objects with their Address and Namespace.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [Alias("ContainerId")]
    [ArgumentCompleter(typeof(ContainerIdCompleter))]
    public string[]? Id { get; set; }

    /// <summary>Only events of these types (Create, Start, Exit, ExitCorrected, ExecExit, Kill, Stop, Oom, Paused, Resumed, Delete, Restart, Restarting, Update).</summary>
    [Parameter]
    [ValidateSet("Create", "Start", "Exit", "ExitCorrected", "ExecExit", "Kill", "Stop", "Oom", "Paused", "Resumed", "Delete", "Restart", "Restarting", "Update", "Diagnostic", "SupervisorAcquired")]
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

    /// <summary>Each piped item listens in its own socket and namespace.</summary>
    protected override void ProcessRecord() => _requests.Add(new ContainerRequest(Engine, Id?.ToArray()));

    protected override void EndProcessing()
    {
        var listener = new EventListener(_requests, Type ?? Array.Empty<string>(), Timeout, MaxEvents);
        if (AsJob)
        {
            StartJob(new ContainerEventJob(listener, MyInvocation.Line));
            return;
        }

        Pump(async ct =>
        {
            try
            {
                await listener.RunAsync(Out, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (ErrorRecords.TryFrom(e, Address, out var record))
            {
                Out.Error(record);
            }
        });
    }
}
