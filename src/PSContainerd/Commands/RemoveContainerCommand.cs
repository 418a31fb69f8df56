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
public sealed class RemoveContainerCommand : PerContainerCmdlet
{
    /// <summary>Container ids, PowerShell wildcards, or unique prefixes of 64-hex ids.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    [Alias("ContainerId")]
    public string[] Id { get; set; } = Array.Empty<string>();

    /// <summary>Kill a live container before removing it; also act in a namespace another manager owns (moby, k8s.io).</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override IReadOnlyList<string>? RequestedIds => Id;

    protected override string? ShouldProcessAction => Force ? "Remove container (killing it first if it runs)" : "Remove container";

    protected override bool ForceNamespace => Force;

    protected override Task ActAsync(ContainerTarget target, IOutputSink sink, CancellationToken ct) =>
        target.Engine.RemoveAsync(target.Id, Force, ct);
}
