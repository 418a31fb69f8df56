using System.Diagnostics;
using System.Runtime.InteropServices;
using Xunit;

namespace PSContainerd.Tests;

/// <summary>
/// A containerd of its own for the docs/failure-modes.md rows that freeze a shim, freeze a filesystem or
/// make runc refuse signals, so those never disturb other tests. Its shims find a runc wrapper
/// first on their PATH: it passes everything to the real runc, except that it refuses
/// <c>runc kill</c> with "permission denied" (what runc prints when kill(2) answers EACCES, as an
/// LSM makes it do) for the container ids listed in <see cref="RefuseKillFile"/>.
/// </summary>
public sealed class FailureContainerdFixture : ContainerdFixture
{
    public FailureContainerdFixture()
        : this(CreateRuncWrapper())
    {
    }

    private FailureContainerdFixture(string wrapperDir)
        : base(forcePrivate: true, pathPrefix: wrapperDir)
    {
        WrapperDir = wrapperDir;
    }

    /// <summary>Holds the runc wrapper and its refuse-kill list.</summary>
    public string WrapperDir { get; }

    /// <summary>Container ids, one a line, whose <c>runc kill</c> is refused.</summary>
    public string RefuseKillFile => Path.Combine(WrapperDir, "refuse-kill");

    protected override void Dispose(bool disposing)
    {
        try
        {
            base.Dispose(disposing);
        }
        finally
        {
            try
            {
                Directory.Delete(WrapperDir, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static string CreateRuncWrapper()
    {
        string real = (Environment.GetEnvironmentVariable("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin").Split(':')
            .Select(d => Path.Combine(d, "runc")).FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("runc not found on PATH");
        string dir = Path.Combine(Path.GetTempPath(), "pscd-runcwrap-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "refuse-kill"), string.Empty);
        string script = Path.Combine(dir, "runc");
        File.WriteAllText(script, $$"""
            #!/bin/sh
            # runc for PSContainerd's failure tests: `runc ... kill ... ID SIG` for an id listed in
            # refuse-kill fails as an LSM-denied kill(2) does; everything else is the real runc.
            list="$(dirname "$0")/refuse-kill"
            if [ -s "$list" ]; then
              for a in "$@"; do
                if [ "$a" = kill ]; then
                  for b in "$@"; do
                    if grep -qxF -- "$b" "$list"; then echo "permission denied" >&2; exit 1; fi
                  done
                fi
              done
            fi
            exec {{real}} "$@"

            """);
        Host.Must("chmod", "755", script);
        return dir;
    }
}

/// <summary>Not parallel with anything: its tests freeze shims and filesystems (docs/failure-modes.md rows 4, 5, 9).</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class FailureCollection : ICollectionFixture<FailureContainerdFixture>
{
    public const string Name = "containerd-failures";
}

/// <summary>Host-side helpers for the failure tests: signals, commands, /proc.</summary>
internal static class Host
{
    public const int SIGKILL = 9;
    public const int SIGCONT = 18;
    public const int SIGSTOP = 19;

    [DllImport("libc", SetLastError = true, EntryPoint = "kill")]
    private static extern int SysKill(int pid, int sig);

    public static void Signal(int pid, int sig)
    {
        if (SysKill(pid, sig) != 0)
        {
            throw new InvalidOperationException($"kill({pid}, {sig}) failed: errno {Marshal.GetLastWin32Error()}");
        }
    }

    /// <summary>Runs a command to its end (bounded) and returns its exit code and combined output.</summary>
    public static (int Code, string Output) Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(30_000))
        {
            p.Kill(true);
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} did not finish in 30 s");
        }

        return (p.ExitCode, (stdout.Result + stderr.Result).Trim());
    }

    /// <summary>Like <see cref="Run"/>, failing on a non-zero exit.</summary>
    public static string Must(string file, params string[] args)
    {
        var (code, output) = Run(file, args);
        if (code != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({code}): {output}");
        }

        return output;
    }

    /// <summary>The State line of /proc/PID/status ("D (disk sleep)"), or null when the process is gone.</summary>
    public static string? State(int pid)
    {
        try
        {
            return File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("State:", StringComparison.Ordinal))?[6..].Trim();
        }
        catch (IOException)
        {
            return null;
        }
    }
}
