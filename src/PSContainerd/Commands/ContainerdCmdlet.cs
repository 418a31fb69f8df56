using System.Management.Automation;
using PSContainerd.Containerd;
using PSContainerd.Engine;

namespace PSContainerd.Commands;

/// <summary>-Address and -Namespace for every cmdlet, the shared engine, and failures as ErrorRecords.</summary>
public abstract class ContainerdCmdlet : AsyncCmdlet
{
    public const string DefaultAddress = "/run/containerd/containerd.sock";

    /// <summary>containerd's gRPC unix socket. Default: $env:CONTAINERD_ADDRESS, else /run/containerd/containerd.sock.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string Address
    {
        get => _address;
        set
        {
            _address = value;
            // Bound on the pipeline thread, where the PowerShell location can be read; a relative
            // path means relative to it, as for every other PowerShell path parameter.
            _resolvedAddress = Path.IsPathRooted(value) ? value : Path.GetFullPath(value, SessionState.Path.CurrentFileSystemLocation.ProviderPath);
        }
    }

    private string _address = Environment.GetEnvironmentVariable("CONTAINERD_ADDRESS") is { Length: > 0 } a ? a : DefaultAddress;
    private string? _resolvedAddress;

    /// <summary>
    /// The containerd namespace. Default: $env:CONTAINERD_NAMESPACE, else default. Binds from
    /// piped objects (ContainerInfo, StopResult), so `Get-Container -Namespace x | Stop-Container`
    /// acts in x, never on a same-named container elsewhere.
    /// </summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string Namespace { get; set; } = Environment.GetEnvironmentVariable("CONTAINERD_NAMESPACE") is { Length: > 0 } n ? n : "default";

    /// <summary>The engine of the current -Address and -Namespace; capture it before work that outlives the current pipeline item.</summary>
    protected ContainerEngine Engine => ContainerEngine.For(ResolvedAddress, Namespace);

    protected string ResolvedAddress => _resolvedAddress ??= Path.GetFullPath(_address);

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

    /// <summary>
    /// Resolves each id (exact or unique prefix), asks ShouldProcess for each resolved container on
    /// the pipeline thread, then runs <paramref name="work"/> for it. Resolving first means -WhatIf
    /// and -Confirm name the real container and report an unknown id as the error it is. Failures
    /// are per-id, non-terminating errors; the remaining ids are still processed.
    /// </summary>
    protected void ForEachConfirmed(IEnumerable<string> ids, string action, Func<string, CancellationToken, Task> work)
    {
        foreach (var id in ResolveIds(ids))
        {
            if (ShouldProcess($"{id} (namespace '{Namespace}')", action))
            {
                Pump(ct => RunAsync(id, work, ct));
            }
        }
    }

    /// <summary>
    /// The distinct containers <paramref name="ids"/> name, writing an error for each id that names
    /// none or several. When containerd itself cannot be reached, one error is written and the rest
    /// are not tried: they would fail the same way.
    /// </summary>
    protected IReadOnlyList<string> ResolveIds(IEnumerable<string> ids)
    {
        var resolved = new List<string>();
        Pump(async ct =>
        {
            foreach (var raw in ids)
            {
                try
                {
                    string id = await Engine.ResolveAsync(raw, ct).ConfigureAwait(false);
                    if (!resolved.Contains(id, StringComparer.Ordinal))
                    {
                        resolved.Add(id);
                    }
                }
                catch (Exception e) when (ErrorRecords.TryFrom(e, raw, out var record))
                {
                    EmitError(record);
                    if (e is ContainerdException { Kind: ContainerdErrorKind.Unavailable or ContainerdErrorKind.PermissionDenied })
                    {
                        return;
                    }
                }
            }
        });
        return resolved;
    }

    /// <summary>Runs <paramref name="work"/> for an already resolved id; any failure becomes an ErrorRecord.</summary>
    protected async Task RunAsync(string id, Func<string, CancellationToken, Task> work, CancellationToken ct)
    {
        try
        {
            await work(id, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (ErrorRecords.TryFrom(e, id, out var record))
        {
            EmitError(record);
        }
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
    protected Task OneAsync(string raw, Func<string, CancellationToken, Task> action, CancellationToken ct) => OneAsync(Engine, raw, action, ct);

    /// <summary>As <see cref="OneAsync(string, Func{string, CancellationToken, Task}, CancellationToken)"/>, with the engine captured when the item arrived.</summary>
    protected async Task OneAsync(ContainerEngine engine, string raw, Func<string, CancellationToken, Task> action, CancellationToken ct)
    {
        try
        {
            string id = await engine.ResolveAsync(raw, ct).ConfigureAwait(false);
            await action(id, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (ErrorRecords.TryFrom(e, raw, out var record))
        {
            EmitError(record);
        }
    }
}
