using System.Management.Automation;

namespace PSContainerd.Commands;

/// <summary>
/// <para type="synopsis">Starts containers' tasks, as docker start does.</para>
/// <para type="description">
/// Creates and starts the task of each container. A container whose task already exited gets a
/// fresh task (the old one is deleted first); a running or paused container is left alone. A
/// manual start clears the manual-stop mark and cancels a pending restart. Writes the container's
/// ContainerInfo after the start.
/// </para>
/// </summary>
[Cmdlet(VerbsLifecycle.Start, "Container", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(ContainerInfo))]
public sealed class StartContainerCommand : ContainerdCmdlet
{
    /// <summary>Container ids or unique id prefixes.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string[] Id { get; set; } = Array.Empty<string>();

    /// <summary>Act in a namespace another manager owns (moby, k8s.io).</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        if (!CheckNamespace(Force))
        {
            return;
        }

        ForEachConfirmed(Id, "Start container", async (id, ct) => Emit(await Engine.StartAsync(id, ct).ConfigureAwait(false)));
    }
}
