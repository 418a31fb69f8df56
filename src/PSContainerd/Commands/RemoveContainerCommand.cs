using System.Management.Automation;

namespace PSContainerd.Commands;

/// <summary>
/// <para type="synopsis">Deletes containers: their exited task, then the container record.</para>
/// <para type="description">
/// A container whose task is still running or paused is not removed (InvalidContainerState)
/// unless -Force is given, which kills it first (SIGKILL, waited for) and also allows acting in a
/// namespace another manager owns. A pending restart is cancelled. Writes nothing.
/// </para>
/// </summary>
[Cmdlet(VerbsCommon.Remove, "Container", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
public sealed class RemoveContainerCommand : ContainerdCmdlet
{
    /// <summary>Container ids or unique id prefixes.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string[] Id { get; set; } = Array.Empty<string>();

    /// <summary>Kill a live container before removing it; also act in a namespace another manager owns (moby, k8s.io).</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        if (!CheckNamespace(Force))
        {
            return;
        }

        ForEachConfirmed(Id, Force ? "Remove container (killing it first if it runs)" : "Remove container",
            (id, ct) => Engine.RemoveAsync(id, Force, ct));
    }
}
