using System.Management.Automation;
using PSContainerd.Engine;

namespace PSContainerd.Commands;

/// <summary>What Suspend-Container and Resume-Container share: ids, -PassThru, -Force, one engine call per container.</summary>
public abstract class FreezeCommandBase : ContainerdCmdlet
{
    /// <summary>Container ids or unique id prefixes.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string[] Id { get; set; } = Array.Empty<string>();

    /// <summary>Write the container's ContainerInfo afterwards.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <summary>Act in a namespace another manager owns (moby, k8s.io).</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>The ShouldProcess action, e.g. "Suspend container".</summary>
    protected abstract string Action { get; }

    protected abstract Task ApplyAsync(ContainerEngine engine, string id, CancellationToken ct);

    protected override void ProcessRecord()
    {
        if (!CheckNamespace(Force))
        {
            return;
        }

        var engine = Engine;
        ForEachConfirmed(Id, Action, async (id, ct) =>
        {
            await ApplyAsync(engine, id, ct).ConfigureAwait(false);
            if (PassThru)
            {
                Emit(await engine.GetInfoAsync(id, ct).ConfigureAwait(false));
            }
        });
    }
}
