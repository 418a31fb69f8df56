using System.Management.Automation;
using PSContainerd.Engine;

namespace PSContainerd.Commands;

/// <summary>
/// <para type="synopsis">Keeps an engine running in this process that takes the restart duty for a socket and namespace when it is free.</para>
/// <para type="description">Returns a job (Get-Job, Receive-Job, Stop-Job); with -Wait runs in the foreground until Ctrl+C, for a service unit.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Start, "ContainerSupervisor")]
[OutputType(typeof(Job))]
[OutputType(typeof(SupervisorInfo))]
public sealed class StartContainerSupervisorCommand : ContainerdCmdlet
{
    /// <summary>Run in the foreground until Ctrl+C (or the process is stopped), writing a SupervisorInfo when the duty is taken.</summary>
    [Parameter]
    public SwitchParameter Wait { get; set; }

    protected override void EndProcessing()
    {
        if (ContainerEngine.ForeignOwner(Namespace) is string owner)
        {
            // Restarts there are the other manager's: an engine there never takes the duty.
            WriteError(ErrorRecords.ForeignNamespace(Namespace, owner));
            return;
        }

        var engine = Engine;
        if (!Wait)
        {
            StartJob(new SupervisorJob(engine, MyInvocation.Line));
            return;
        }

        Pump(async ct =>
        {
            try
            {
                await SupervisorJob.SuperviseAsync(engine, Out, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
            }
            catch (Exception e) when (ErrorRecords.TryFrom(e, engine.Address, out var record))
            {
                Out.Error(record);
            }
        });
    }
}
