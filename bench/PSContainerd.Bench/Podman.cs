namespace PSContainerd.Bench;

/// <summary>
/// Debian's podman 4.3 (CLI, no daemon: each call is a process, as a shell uses it), with storage
/// roots of its own under the bench's folder. Here it needs the cgroupfs manager and explicit
/// nofile/nproc limits (runc refuses to raise rlimits above the host's hard limits).
/// </summary>
internal sealed class Podman : IAsyncDisposable
{
    public const string Cli = "/usr/bin/podman";
    private const string Image = "localhost/bench-busybox:latest";
    private readonly string[] _global;

    private Podman(string dir) => _global = new[]
    {
        "--root", Path.Combine(dir, "root"), "--runroot", Path.Combine(dir, "run"), "--tmpdir", Path.Combine(dir, "tmp"),
        "--cgroup-manager", "cgroupfs", "--events-backend", "file", "--storage-driver", "vfs", "--log-level", "error",
    };

    public static bool Installed => File.Exists(Cli);

    public static async Task<Podman> Start(string benchDir, string rootfsTar)
    {
        string dir = Path.Combine(benchDir, "podman");
        foreach (var d in new[] { "root", "run", "tmp" })
        {
            Directory.CreateDirectory(Path.Combine(dir, d));
        }

        var p = new Podman(dir);
        (await p.Run(TimeSpan.FromSeconds(180), "import", rootfsTar, Image)).Check("podman import");
        return p;
    }

    public async Task<(string Id, uint Pid)> Create(string[] command)
    {
        string name = $"pod-{Guid.NewGuid():N}"[..12];
        (await Run(TimeSpan.FromSeconds(120), new[] { "run", "-d", "--name", name, "--network", "none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", Image }.Concat(command).ToArray())).Check("podman run");
        uint pid = uint.Parse((await Run(TimeSpan.FromSeconds(60), "inspect", "-f", "{{.State.Pid}}", name)).Check("podman inspect").Out.Trim());
        await Trap.Wait(pid, command);
        return (name, pid);
    }

    /// <summary>`podman stop -t T ID...`, the whole process timed; then every exit code checked.</summary>
    public async Task<double> Stop(IReadOnlyList<string> names, int timeoutSeconds, int expectedExit)
    {
        var r = (await Run(TimeSpan.FromSeconds(600), new[] { "stop", "-t", timeoutSeconds.ToString() }.Concat(names).ToArray())).Check("podman stop");
        var codes = (await Run(TimeSpan.FromSeconds(120), new[] { "inspect", "-f", "{{.State.ExitCode}}" }.Concat(names).ToArray())).Check("podman inspect").Out
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (codes.Length != names.Count || codes.Any(c => c != expectedExit.ToString()))
        {
            throw new InvalidOperationException($"podman recorded exits {string.Join(",", codes.Distinct())}, not {expectedExit}");
        }

        return r.Ms;
    }

    public async Task Remove(IReadOnlyList<string> names) =>
        (await Run(TimeSpan.FromSeconds(600), new[] { "rm", "-f" }.Concat(names).ToArray())).Check("podman rm");

    public async Task<string?> Version() => (await Run(TimeSpan.FromSeconds(30), "version", "--format", "{{.Client.Version}}")).Out.Trim();

    private Task<ProcResult> Run(TimeSpan bound, params string[] args) => Proc.Run(Cli, _global.Concat(args), bound);

    public async ValueTask DisposeAsync()
    {
        var r = await Run(TimeSpan.FromSeconds(300), "rm", "-a", "-f");
        if (r.Code != 0)
        {
            Console.Error.WriteLine($"podman rm -a -f: {r.Err.Trim()}");
        }
    }
}
