using System.Management.Automation;
using PSContainerd.Engine;

namespace PSContainerd.Commands;

/// <summary>-Address and -Namespace for every cmdlet, the shared engine, and failures as ErrorRecords.</summary>
public abstract class ContainerdCmdlet : AsyncCmdlet
{
    public const string DefaultAddress = "/run/containerd/containerd.sock";

    /// <summary>containerd's gRPC unix socket. Default: $env:CONTAINERD_ADDRESS, else /run/containerd/containerd.sock.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string Address { get; set; } = Environment.GetEnvironmentVariable("CONTAINERD_ADDRESS") is { Length: > 0 } a ? a : DefaultAddress;

    /// <summary>The containerd namespace. Default: $env:CONTAINERD_NAMESPACE, else default.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string Namespace { get; set; } = Environment.GetEnvironmentVariable("CONTAINERD_NAMESPACE") is { Length: > 0 } n ? n : "default";

    private ContainerEngine? _engine;

    protected ContainerEngine Engine => _engine ??= ContainerEngine.For(ResolvedAddress, Namespace);

    protected string ResolvedAddress => System.IO.Path.GetFullPath(Address);

    /// <summary>
    /// For state-changing cmdlets: refuses a namespace another manager owns unless -Force was given;
    /// that manager would fight the change. Writes the error and returns false when refused.
    /// </summary>
    protected bool CheckNamespace(bool force)
    {
        if (force || ContainerEngine.ForeignOwner(Namespace) is not string owner)
        {
            return true;
        }

        WriteError(ErrorRecords.ForeignNamespace(Namespace, owner));
        return false;
    }

    /// <summary>Resolves each id and runs <paramref name="action"/> for it; failures become per-id errors.</summary>
    protected async Task ForEachIdAsync(IEnumerable<string> ids, Func<string, CancellationToken, Task> action, CancellationToken ct)
    {
        foreach (var raw in ids)
        {
            await OneAsync(raw, action, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Resolves one id (exact or unique prefix) and runs <paramref name="action"/>; any failure becomes an ErrorRecord.</summary>
    protected async Task OneAsync(string raw, Func<string, CancellationToken, Task> action, CancellationToken ct)
    {
        try
        {
            string id = await Engine.ResolveAsync(raw, ct).ConfigureAwait(false);
            await action(id, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (ErrorRecords.TryFrom(e, raw, out var record))
        {
            EmitError(record);
        }
    }
}
