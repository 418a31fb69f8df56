using System.Text.RegularExpressions;

namespace PSContainerd.Bench;

/// <summary>A name and its value (a tool and its version).</summary>
internal sealed record Named(string Name, string Version);

/// <summary>What the figures were taken on: the machine, its load, and every version in play.</summary>
internal sealed class Machine
{
    public string Summary { get; set; } = string.Empty;

    public List<Named> Versions { get; set; } = new();

    public string LoadAtStart { get; set; } = string.Empty;

    public string LoadAtEnd { get; set; } = string.Empty;

    public DateTime TakenAt { get; set; } = DateTime.UtcNow;

    public static string Load() => string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3));

    public static async Task<Machine> Describe(BenchContext ctx)
    {
        var m = new Machine { LoadAtStart = Load() };
        string cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown CPU";
        long memKb = long.Parse(Regex.Match(File.ReadAllText("/proc/meminfo"), @"MemTotal:\s+(\d+)").Groups[1].Value);
        string os = File.Exists("/etc/debian_version") ? $"Debian {File.ReadAllText("/etc/debian_version").Trim()}" : "Linux";
        m.Summary = $"{Environment.ProcessorCount} cores ({cpu}), {memKb / 1024 / 1024.0:0} GiB, {os}, kernel {File.ReadAllText("/proc/sys/kernel/osrelease").Trim()}";
        async Task Add(string name, string file, params string[] args)
        {
            if (await Proc.Version(file, args) is { } v)
            {
                m.Versions.Add(new Named(name, v));
            }
        }

        await Add("containerd", "containerd", "--version");
        await Add("runc", "runc", "--version");
        await Add("dockerd", "/usr/sbin/dockerd", "--version");
        await Add("podman", "/usr/bin/podman", "--version");
        await Add("ctr", "/usr/bin/ctr", "--version");
        var pwsh = await Proc.Run("dotnet", new[] { "pwsh", "-NoProfile", "-c", "$PSVersionTable.PSVersion.ToString()" }, TimeSpan.FromSeconds(60), ctx.Repo);
        m.Versions.Add(new Named("PowerShell", pwsh.Out.Trim()));
        m.Versions.Add(new Named(".NET (bench process)", Environment.Version.ToString()));
        var manifest = Regex.Match(File.ReadAllText(ctx.Module), @"ModuleVersion\s*=\s*'([^']+)'");
        m.Versions.Add(new Named("PSContainerd", manifest.Success ? manifest.Groups[1].Value : "?"));
        return m;
    }
}
