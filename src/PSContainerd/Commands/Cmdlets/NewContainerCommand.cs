using System.Collections;
using System.Management.Automation;
using PSContainerd.Engine;

namespace PSContainerd.Commands;

/// <summary>
/// <para type="synopsis">Creates a container from a root filesystem folder or from an image in containerd's store.</para>
/// <para type="description">
/// With -Image the process (Entrypoint+Cmd, Env, WorkingDir, User) and stop signal come from the
/// image's config for this host, and the container gets its own writable snapshot on the image's
/// layers (-Snapshotter, default overlayfs), removed with the container. With -RootFs the folder
/// is the container's root as is: shared by every container made from it, and writable.
/// Writes an OCI runtime spec with docker-like Linux defaults (own pid/ipc/uts/mount/network
/// namespaces, the usual mounts, docker's default capabilities, no-new-privileges, PATH) and
/// creates the container, keeping its stop signal, stop timeout, restart policy, auto-remove and
/// log path as labels on containerd's record. Every argument is checked before anything is
/// created. With -Start the task is started too. Writes the new container's ContainerInfo.
/// </para>
/// </summary>
[Cmdlet(VerbsCommon.New, "Container", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low, DefaultParameterSetName = RootFsSet, HelpUri = HelpUris.Base + "New-Container.md")]
[OutputType(typeof(ContainerInfo))]
public sealed class NewContainerCommand : ContainerdCmdlet
{
    private const string RootFsSet = "RootFs";
    private const string ImageSet = "Image";

    private string? _archive;

    /// <summary>The new container's id.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [Alias("ContainerId")]
    public string Id { get; set; } = string.Empty;

    /// <summary>The folder holding the container's root filesystem, used as is (shared with every container made from it, and writable), or a .tar/.tar.gz of one (docker export), unpacked for the container; relative to the current location.</summary>
    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true, ParameterSetName = RootFsSet)]
    [ValidateNotNullOrEmpty]
    public string RootFs { get; set; } = string.Empty;

    /// <summary>An image in containerd's image store (its full name, as `ctr images ls` lists it), unpacked for -Snapshotter.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ImageSet)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(ImageCompleter))]
    public string Image { get; set; } = string.Empty;

    /// <summary>The snapshotter the container's writable layer is prepared with; the image must be unpacked for it. Default: overlayfs.</summary>
    [Parameter(ParameterSetName = ImageSet)]
    [ValidateNotNullOrEmpty]
    public string Snapshotter { get; set; } = ImageSource.DefaultSnapshotter;

    /// <summary>The init process's argv. Default: /bin/sh; with -Image, the image's Cmd (this replaces it; the image's Entrypoint stays, as docker run).</summary>
    [Parameter(Position = 2, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string[] Command { get; set; } = { "/bin/sh" };

    /// <summary>Environment variables as 'NAME=value' strings. PATH defaults to the usual one; with -Image they replace the image's of the same NAME.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("Env")]
    public string[] Environment { get; set; } = Array.Empty<string>();

    /// <summary>Labels on the container record. Keys under 'pscontainerd/' are the module's own and refused.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public Hashtable? Label { get; set; }

    /// <summary>The signal Stop-Container sends first. Default: the image's StopSignal with -Image, else SIGTERM.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(SignalCompleter))]
    public string? StopSignal { get; set; }

    /// <summary>Seconds Stop-Container waits before SIGKILL; -1 = never force. Default: 10.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateRange(-1, int.MaxValue)]
    public int? StopTimeout { get; set; }

    /// <summary>no, always, unless-stopped, on-failure or on-failure:N. Default: no.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(RestartPolicyCompleter))]
    public string RestartPolicy { get; set; } = "no";

    /// <summary>Remove the container when its task exits and no restart follows.</summary>
    [Parameter]
    public SwitchParameter AutoRemove { get; set; }

    /// <summary>A file on the host that receives the task's stdout and stderr; relative to the current location.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? LogPath { get; set; }

    /// <summary>The init process's working directory inside the container (absolute). Default: the image's WorkingDir with -Image, else /.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? WorkingDirectory { get; set; }

    /// <summary>Host files or folders to bind into the container: 'SOURCE:DESTINATION' or 'SOURCE:DESTINATION:ro' (docker -v).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string[] Mount { get; set; } = Array.Empty<string>();

    /// <summary>None (default): a network namespace of its own with only loopback. Host: the host's network (docker --network host).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public ContainerNetwork Network { get; set; }

    /// <summary>Keep no log: without -LogPath the output otherwise goes to /var/log/pscontainerd/NAMESPACE/ID.log.</summary>
    [Parameter]
    public SwitchParameter NoLog { get; set; }

    /// <summary>Start the container's task once it is created.</summary>
    [Parameter]
    public SwitchParameter Start { get; set; }

    /// <summary>Act in a namespace another manager owns (moby, k8s.io).</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        if (!CheckNamespace(Force) || BuildRequest() is not { } request)
        {
            return;
        }

        var target = new ContainerTarget(Engine, Id);
        if (!ShouldProcess(target.ToString(), Start ? "Create and start container" : "Create container"))
        {
            return;
        }

        string? archive = _archive;
        Pump(ct => ContainerRunner.RunAsync(new[] { target }, 1, async (t, sink, c) =>
        {
            if (request.Image is { } image)
            {
                sink.Verbose($"Making '{t.Id}' from image '{image.Name}' on snapshotter '{image.Snapshotter}'.");
            }
            else if (archive is not null)
            {
                sink.Verbose($"Unpacking '{archive}' into '{request.RootFs}'.");
                await RootFsArchive.UnpackOrReportAsync(archive, request.RootFs, sink, c).ConfigureAwait(false);
                if (!Directory.Exists(request.RootFs))
                {
                    return; // the error was written
                }
            }

            ContainerInfo info;
            try
            {
                info = await t.Engine.CreateAsync(request, c).ConfigureAwait(false);
                if (request.LogPath == DefaultLogs.PathFor(t.Engine.Address, t.Engine.Namespace, t.Id))
                {
                    // Left by an earlier container of this id that was removed by another tool:
                    // its lines are not this container's.
                    DefaultLogs.Delete(t.Engine.Address, t.Engine.Namespace, t.Id);
                }
            }
            catch when (archive is not null)
            {
                RootFsArchive.Delete(request.RootFs); // nobody else will: no container names it
                throw;
            }

            if (Start)
            {
                info = await t.Engine.StartAsync(t.Id, c).ConfigureAwait(false);
            }

            sink.Output(info);
        }, this, ct));
    }

    /// <summary>Checks every argument on the pipeline thread (paths resolve against the current location); null after writing the error.</summary>
    private NewContainerRequest? BuildRequest()
    {
        if (ContainerSpecArguments.CheckId(Id) is { } badId)
        {
            WriteError(badId);
            return null;
        }

        string rootFs = string.Empty;
        if (ParameterSetName == ImageSet)
        {
            // resolved by the engine, against the image store of -Address/-Namespace
        }
        else if (ResolveFileSystemPath(RootFs, nameof(RootFs)) is not { } resolvedRootFs)
        {
            return null;
        }
        else if (RootFsArchive.IsArchive(rootFs = resolvedRootFs))
        {
            _archive = rootFs;
            rootFs = RootFsArchive.FolderFor(Namespace, Id);
        }
        else if (!Directory.Exists(rootFs))
        {
            WriteError(ErrorRecords.InvalidRootFs(RootFs, File.Exists(rootFs) ? $"is a file ('{rootFs}'), not a folder or a .tar/.tar.gz archive" : $"does not exist ('{rootFs}')"));
            return null;
        }

        if (SignalArgument.Check(StopSignal, out int? stopSignal) is { } badSignal)
        {
            WriteError(badSignal);
            return null;
        }

        if (!PSContainerd.Engine.RestartPolicy.TryParse(RestartPolicy, out var policy))
        {
            WriteError(ErrorRecords.InvalidRestartPolicy(RestartPolicy));
            return null;
        }

        if (ContainerSpecArguments.CheckEnvironment(Environment) is { } badEnvironment)
        {
            WriteError(badEnvironment);
            return null;
        }

        if (ContainerSpecArguments.CheckLabels(Label, out var labels) is { } badLabel)
        {
            WriteError(badLabel);
            return null;
        }

        string? logPath = null;
        if (LogPath is not null)
        {
            logPath = ResolveFileSystemPath(LogPath, nameof(LogPath));
            if (logPath is null)
            {
                return null;
            }

            if (Directory.Exists(logPath))
            {
                WriteError(ErrorRecords.InvalidContainerSpec(nameof(LogPath), LogPath, $"is a folder ('{logPath}'); give a file path"));
                return null;
            }
        }

        if (NoLog && LogPath is not null)
        {
            WriteError(ErrorRecords.InvalidContainerSpec(nameof(NoLog), LogPath, "cannot go with -LogPath"));
            return null;
        }

        if (logPath is null && !NoLog)
        {
            (logPath, string? noLog) = ContainerSpecArguments.DefaultLog(ResolvedAddress, Namespace, Id);
            if (noLog is not null)
            {
                WriteWarning(noLog);
            }
        }

        var mounts = new List<ContainerMount>();
        foreach (var m in Mount)
        {
            var (mount, why) = MountArgument.Parse(m, p => ResolveFileSystemPath(p, nameof(Mount)));
            if (mount is null)
            {
                WriteError(ErrorRecords.InvalidContainerSpec(nameof(Mount), m, why!));
                return null;
            }

            mounts.Add(mount);
        }

        if (ContainerSpecArguments.CheckWorkingDirectory(WorkingDirectory) is { } badDir)
        {
            WriteError(badDir);
            return null;
        }

        if (_archive is not null)
        {
            labels[RootFsArchive.Label] = rootFs;
        }

        // With -Image an absent -Command keeps the image's Cmd (an empty command says so).
        var command = ParameterSetName == ImageSet && !MyInvocation.BoundParameters.ContainsKey(nameof(Command)) ? Array.Empty<string>() : Command;
        var image = ParameterSetName == ImageSet ? new ImageSource(Image, Snapshotter) : null;
        return new NewContainerRequest(Id, rootFs, command, Environment, labels, stopSignal, StopTimeout, policy, AutoRemove, logPath, WorkingDirectory, mounts, Image: image)
        {
            Network = Network,
        };
    }

    /// <summary>A host path for <paramref name="path"/> (relative to the current location), or null after writing the error.</summary>
    private string? ResolveFileSystemPath(string path, string parameter) =>
        ResolveFileSystemPath(path, why => parameter == nameof(RootFs)
            ? ErrorRecords.InvalidRootFs(path, why)
            : ErrorRecords.InvalidContainerSpec(parameter, path, why));
}
