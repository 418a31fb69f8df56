using System.Management.Automation;
using PSContainerd.Engine;

namespace PSContainerd.Commands;

/// <summary>-Address and -Namespace for every cmdlet, the shared engine, and failures as ErrorRecords.</summary>
public abstract class ContainerdCmdlet : AsyncCmdlet
{
    public const string DefaultAddress = "/run/containerd/containerd.sock";

    /// <summary>-Address when none is given: $env:CONTAINERD_ADDRESS (a path or unix:// address), else <see cref="DefaultAddress"/>.</summary>
    public static string DefaultAddressFromEnvironment =>
        Environment.GetEnvironmentVariable("CONTAINERD_ADDRESS") is { Length: > 0 } a ? SocketAddress.ToPath(a) : DefaultAddress;

    /// <summary>
    /// containerd's gRPC unix socket: a path or a unix:// address. Default: $env:CONTAINERD_ADDRESS, else /run/containerd/containerd.sock.
    /// Binds from piped objects (every result carries Address), so `Get-Container -Address B | Stop-Container` acts on B.
    /// </summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string Address
    {
        get => _address;
        set
        {
            _address = value;
            // Bound on the pipeline thread, where the PowerShell location can be read; a relative
            // path means relative to it, as for every other PowerShell path parameter.
            _resolvedAddress = SocketAddress.ToPath(value, SessionState.Path.CurrentFileSystemLocation.ProviderPath);
        }
    }

    private string _address = DefaultAddressFromEnvironment;
    private string? _resolvedAddress;

    /// <summary>
    /// The containerd namespace. Default: $env:CONTAINERD_NAMESPACE, else default. Binds from
    /// piped objects (ContainerInfo, StopResult), so `Get-Container -Namespace x | Stop-Container`
    /// acts in x, never on a same-named container elsewhere.
    /// </summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(NamespaceCompleter))]
    public string Namespace { get; set; } = Environment.GetEnvironmentVariable("CONTAINERD_NAMESPACE") is { Length: > 0 } n ? n : "default";

    private DiagnosticRelay? _diagnostics;

    /// <summary>
    /// The engine of the current -Address and -Namespace; capture it before work that outlives the
    /// current pipeline item. What it reports of its background work while this call lasts goes to
    /// the call's debug stream (`-Debug`).
    /// </summary>
    protected ContainerEngine Engine
    {
        get
        {
            var engine = ContainerEngine.For(ResolvedAddress, Namespace);
            (_diagnostics ??= new DiagnosticRelay(this)).Watch(engine);
            return engine;
        }
    }

    protected override void OnDisposed() => _diagnostics?.Dispose();

    protected string ResolvedAddress => _resolvedAddress ??= SocketAddress.ToPath(_address);

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
    /// A host path for <paramref name="path"/> (relative to the current location), or null after
    /// writing the error <paramref name="invalid"/> makes of why it is not one.
    /// </summary>
    protected string? ResolveFileSystemPath(string path, Func<string, ErrorRecord> invalid)
    {
        string resolved;
        ProviderInfo provider;
        try
        {
            resolved = SessionState.Path.GetUnresolvedProviderPathFromPSPath(path, out provider, out _);
        }
        catch (Exception e) when (e is ItemNotFoundException or System.Management.Automation.DriveNotFoundException or ProviderNotFoundException or NotSupportedException or ArgumentException)
        {
            WriteError(invalid($"is not a usable path ({e.Message.TrimEnd('.')})"));
            return null;
        }

        if (provider.Name != "FileSystem")
        {
            WriteError(invalid($"is a {provider.Name} path, not a file system path"));
            return null;
        }

        return resolved;
    }
}
