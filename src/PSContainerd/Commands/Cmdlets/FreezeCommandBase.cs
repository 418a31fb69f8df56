using System.Management.Automation;
using PSContainerd.Engine;

namespace PSContainerd.Commands;

/// <summary>What Suspend-Container and Resume-Container share: ids, -PassThru, -Force, one engine call per container.</summary>
public abstract class FreezeCommandBase : ContainerIdCmdlet
{
    /// <summary>Write the container's ContainerInfo afterwards.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <summary>Act in a namespace another manager owns (moby, k8s.io).</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>The ShouldProcess action, e.g. "Suspend container".</summary>
    protected abstract string Action { get; }

    protected override string? ShouldProcessAction => Action;

    protected override bool ForceNamespace => Force;

    protected abstract Task ApplyAsync(ContainerEngine engine, string id, CancellationToken ct);

    protected override async Task ActAsync(ContainerTarget target, IOutputSink sink, CancellationToken ct)
    {
        await ApplyAsync(target.Engine, target.Id, ct).ConfigureAwait(false);
        if (PassThru)
        {
            sink.Output(await target.Engine.GetInfoAsync(target.Id, ct).ConfigureAwait(false));
        }
    }
}
