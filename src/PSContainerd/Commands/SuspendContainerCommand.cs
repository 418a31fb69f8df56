using System.Management.Automation;

namespace PSContainerd.Commands;

/// <summary>
/// <para type="synopsis">Pauses containers (freezes every process in them), as docker pause does.</para>
/// <para type="description">
/// Freezes the container's cgroup so none of its processes runs until Resume-Container. A container
/// that is already paused is left alone; one that is not running gets an InvalidContainerState error.
/// </para>
/// </summary>
[Cmdlet(VerbsLifecycle.Suspend, "Container", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(ContainerInfo))]
public sealed class SuspendContainerCommand : ContainerdCmdlet
{
    /// <summary>Container ids or unique id prefixes.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string[] Id { get; set; } = Array.Empty<string>();

    /// <summary>Write the container's ContainerInfo after pausing it.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <summary>Act in a namespace another manager owns (moby, k8s.io).</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        if (!CheckNamespace(Force))
        {
            return;
        }

        ForEachConfirmed(Id, "Suspend container", async (id, ct) =>
        {
            await Engine.PauseAsync(id, ct).ConfigureAwait(false);
            if (PassThru)
            {
                Emit(await Engine.GetInfoAsync(id, ct).ConfigureAwait(false));
            }
        });
    }
}
