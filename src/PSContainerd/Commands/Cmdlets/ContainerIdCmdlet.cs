using System.Management.Automation;

namespace PSContainerd.Commands;

/// <summary>
/// The cmdlets that act on containers they must be told of: -Id is required, declared here once so
/// its binding (position 0, by value and by property name, the ContainerId alias), its validation
/// (an empty string is refused at binding; a blank one is EmptyContainerId) and its completion are
/// the same on each. Get-Container and Restore-ContainerState, whose -Id is optional, declare their own.
/// </summary>
public abstract class ContainerIdCmdlet : PerContainerCmdlet
{
    /// <summary>Container ids, PowerShell wildcards, or unique prefixes of 64-hex ids.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    [Alias("ContainerId")]
    [ArgumentCompleter(typeof(ContainerIdCompleter))]
    public string[] Id { get; set; } = Array.Empty<string>();

    protected override IReadOnlyList<string>? RequestedIds => Id;
}
