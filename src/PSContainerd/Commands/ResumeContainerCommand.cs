using System.Management.Automation;

namespace PSContainerd.Commands;

/// <summary>
/// <para type="synopsis">Resumes paused containers, as docker unpause does.</para>
/// <para type="description">
/// Thaws the container's cgroup so its processes run again. A container that is already running
/// is left alone; one that has no live task gets an InvalidContainerState error.
/// </para>
/// </summary>
[Cmdlet(VerbsLifecycle.Resume, "Container", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(ContainerInfo))]
public sealed class ResumeContainerCommand : ContainerdCmdlet
{
    /// <summary>Container ids or unique id prefixes.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string[] Id { get; set; } = Array.Empty<string>();

    /// <summary>Write the container's ContainerInfo after resuming it.</summary>
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

        ForEachConfirmed(Id, "Resume container", async (id, ct) =>
        {
            await Engine.ResumeAsync(id, ct).ConfigureAwait(false);
            if (PassThru)
            {
                Emit(await Engine.GetInfoAsync(id, ct).ConfigureAwait(false));
            }
        });
    }
}
