using System.Text.Json.Nodes;

namespace PSContainerd.Engine;

/// <summary>What New-Container asks for, already validated by the command.</summary>
public sealed partial record NewContainerRequest(
    string Id,
    string RootFs,
    IReadOnlyList<string> Command,
    IReadOnlyList<string> Environment,
    IReadOnlyDictionary<string, string> Labels,
    int? StopSignal,
    int? StopTimeout,
    RestartPolicy RestartPolicy,
    bool AutoRemove,
    string? LogPath,
    string? WorkingDirectory = null,
    IReadOnlyList<ContainerMount>? Mounts = null,
    ImageSource? Image = null,
    ProcessUser? User = null);

/// <summary>
/// An image in containerd's store to make the container from, and the snapshotter its own
/// writable layer is prepared with (the image must be unpacked for it).
/// </summary>
public sealed record ImageSource(string Name, string Snapshotter = ImageSource.DefaultSnapshotter)
{
    public const string DefaultSnapshotter = "overlayfs";
}

/// <summary>The init process's user (an image config's User, resolved to ids).</summary>
public sealed record ProcessUser(uint Uid, uint Gid);

/// <summary>
/// An extra mount, added after the default ones (so it may cover one of them). A bind mount
/// (<see cref="Bind"/>) makes a host folder visible in the container; other types are passed to
/// runc as given (OCI runtime spec "mounts": destination, type, source, options).
/// </summary>
public sealed record ContainerMount(string Destination, string Source, string Type = "bind", IReadOnlyList<string>? Options = null)
{
    /// <summary>A read-write recursive bind of host folder <paramref name="source"/> at <paramref name="destination"/>.</summary>
    public static ContainerMount Bind(string source, string destination, bool readOnly = false) =>
        new(destination, source, "bind", new[] { "rbind", readOnly ? "ro" : "rw" });
}

/// <summary>
/// The OCI runtime spec for a container run from a root filesystem folder, with the defaults
/// docker and containerd give a Linux container: its own pid/ipc/uts/mount/network namespaces,
/// /proc /dev /dev/pts /dev/shm /dev/mqueue /sys mounts, docker's default capability set,
/// no-new-privileges, masked /proc paths, and PATH. No rlimits: runc refuses to raise them here.
/// Extra mounts (<see cref="NewContainerRequest.Mounts"/>) follow the defaults.
/// </summary>
public static class OciSpecBuilder
{
    public const string DefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    // moby's oci/caps/defaults.go.
    private static readonly string[] DefaultCapabilities =
    {
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
    };

    private static readonly string[] MaskedPaths =
    {
        "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
        "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
    };

    private static readonly string[] ReadonlyPaths =
    {
        "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
    };

    public static string Build(NewContainerRequest r, string @namespace)
    {
        var env = new JsonArray();
        if (!r.Environment.Any(e => e.StartsWith("PATH=", StringComparison.Ordinal)))
        {
            env.Add(DefaultPath);
        }

        foreach (var e in r.Environment)
        {
            env.Add(e);
        }

        var spec = new JsonObject
        {
            ["ociVersion"] = "1.0.2-dev",
            ["process"] = new JsonObject
            {
                ["terminal"] = false,
                ["user"] = new JsonObject { ["uid"] = r.User?.Uid ?? 0, ["gid"] = r.User?.Gid ?? 0 },
                ["args"] = Strings(r.Command),
                ["env"] = env,
                ["cwd"] = r.WorkingDirectory ?? "/",
                ["capabilities"] = new JsonObject
                {
                    ["bounding"] = Strings(DefaultCapabilities),
                    ["effective"] = Strings(DefaultCapabilities),
                    ["permitted"] = Strings(DefaultCapabilities),
                },
                ["noNewPrivileges"] = true,
            },
            ["root"] = new JsonObject { ["path"] = r.RootFs, ["readonly"] = false },
            ["hostname"] = r.Id.Length > 63 ? r.Id[..63] : r.Id,
            ["mounts"] = new JsonArray
            {
                Mount("/proc", "proc", "proc", "nosuid", "noexec", "nodev"),
                Mount("/dev", "tmpfs", "tmpfs", "nosuid", "strictatime", "mode=755", "size=65536k"),
                Mount("/dev/pts", "devpts", "devpts", "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"),
                Mount("/dev/shm", "tmpfs", "shm", "nosuid", "noexec", "nodev", "mode=1777", "size=65536k"),
                Mount("/dev/mqueue", "mqueue", "mqueue", "nosuid", "noexec", "nodev"),
                Mount("/sys", "sysfs", "sysfs", "nosuid", "noexec", "nodev", "ro"),
            },
            ["linux"] = new JsonObject
            {
                // containerd's client uses /NAMESPACE/ID too; the pidfd killer checks a pid's
                // cgroup against it before signalling.
                ["cgroupsPath"] = CgroupPath(@namespace, r.Id),
                ["namespaces"] = new JsonArray(
                    Ns("pid"), Ns("ipc"), Ns("uts"), Ns("mount"), Ns("network")),
                ["maskedPaths"] = Strings(MaskedPaths),
                ["readonlyPaths"] = Strings(ReadonlyPaths),
                ["resources"] = new JsonObject
                {
                    ["devices"] = new JsonArray(new JsonObject { ["allow"] = false, ["access"] = "rwm" }),
                },
            },
        };
        var mounts = (JsonArray)spec["mounts"]!;
        foreach (var m in r.Mounts ?? Array.Empty<ContainerMount>())
        {
            mounts.Add(Mount(m.Destination, m.Type, m.Source, (m.Options ?? (m.Type == "bind" ? new[] { "rbind", "rw" } : Array.Empty<string>())).ToArray()));
        }

        if (r.Network == ContainerNetwork.Host)
        {
            // No "network" entry: runc makes no namespace, and the container shares the host's.
            var namespaces = (JsonArray)spec["linux"]!["namespaces"]!;
            namespaces.Remove(namespaces.First(n => (string?)n!["type"] == "network"));
        }

        return spec.ToJsonString();
    }

    public static string CgroupPath(string @namespace, string id) => $"/{@namespace}/{id}";

    private static JsonArray Strings(IEnumerable<string> items) => new(items.Select(s => (JsonNode?)JsonValue.Create(s)).ToArray());

    private static JsonObject Ns(string type) => new() { ["type"] = type };

    private static JsonObject Mount(string destination, string type, string source, params string[] options) => new()
    {
        ["destination"] = destination,
        ["type"] = type,
        ["source"] = source,
        ["options"] = Strings(options),
    };
}
