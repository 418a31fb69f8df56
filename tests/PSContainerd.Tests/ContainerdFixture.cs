using System.Diagnostics;
using PSContainerd.Containerd;
using PSContainerd.Engine;
using Xunit;

namespace PSContainerd.Tests;

/// <summary>
/// A real private containerd for the run: the one build.ps1 started (CONTAINERD_ADDRESS and
/// PSCD_TEST_ROOTFS set), else one this fixture starts through tests/Fixtures/testenv.sh and
/// stops at the end. If containerd cannot start, every test fails loudly.
/// </summary>
public class ContainerdFixture : IDisposable
{
    private readonly bool _owned;
    private readonly string? _pathPrefix;

    public ContainerdFixture()
        : this(forcePrivate: false)
    {
    }

    /// <param name="forcePrivate">Always start a containerd of its own (tests that stop or restart the daemon).</param>
    protected ContainerdFixture(bool forcePrivate)
        : this(forcePrivate, null)
    {
    }

    /// <param name="forcePrivate">Always start a containerd of its own (tests that stop or restart the daemon).</param>
    /// <param name="pathPrefix">A folder put first on the PATH of that containerd, and so of its shims (a runc wrapper).</param>
    protected ContainerdFixture(bool forcePrivate, string? pathPrefix)
    {
        _pathPrefix = pathPrefix;
        Script = Environment.GetEnvironmentVariable("PSCD_FIXTURE") is { Length: > 0 } f ? f : Path.Combine(RepoRoot(), "tests", "Fixtures", "testenv.sh");
        if (!forcePrivate && Environment.GetEnvironmentVariable("CONTAINERD_ADDRESS") is { Length: > 0 } addr && Environment.GetEnvironmentVariable("PSCD_TEST_ROOTFS") is { Length: > 0 } rootfs)
        {
            Address = addr;
            RootFs = rootfs;
            Dir = Environment.GetEnvironmentVariable("PSCD_TEST_DIR") ?? Path.GetDirectoryName(addr)!;
        }
        else
        {
            Dir = Path.Combine(Path.GetTempPath(), "pscd-xunit-" + Guid.NewGuid().ToString("N")[..8]);
            RunScript("start", Dir);
            _owned = true;
            Address = Path.Combine(Dir, "containerd.sock");
            RootFs = Path.Combine(Dir, "rootfs");
        }

        Namespace = "xunit-" + Environment.ProcessId;
        Engine = ContainerEngine.For(Address, Namespace);
        if (Environment.GetEnvironmentVariable("PSCD_DIAG_LOG") is { Length: > 0 } log)
        {
            Engine.Diagnostic += m => File.AppendAllText(log, $"{DateTime.UtcNow:HH:mm:ss.fff} {m}\n");
        }
        Client = new ContainerdClient(Address, Namespace);
        Client.VersionAsync().GetAwaiter().GetResult();
    }

    public string Address { get; }

    public string RootFs { get; }

    public string Dir { get; }

    public string Script { get; }

    public string Namespace { get; }

    public ContainerEngine Engine { get; }

    public ContainerdClient Client { get; }

    /// <summary>Runs testenv.sh (start, stop, restart, kill-daemon, start-daemon, image) and fails on a non-zero exit.</summary>
    public void RunScript(string verb, string dir, params string[] more)
    {
        var psi = new ProcessStartInfo("bash", new[] { Script, verb, dir }.Concat(more)) { RedirectStandardOutput = true, RedirectStandardError = true };
        if (_pathPrefix is not null)
        {
            psi.Environment["PATH"] = _pathPrefix + ":" + Environment.GetEnvironmentVariable("PATH");
        }

        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        // Bounded, but generously: testenv.sh walks /proc, which takes long on a host busy with many shims.
        if (!p.WaitForExit(180_000))
        {
            p.Kill(true);
            throw new InvalidOperationException($"testenv.sh {verb} timed out");
        }

        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"testenv.sh {verb} {dir} failed ({p.ExitCode}): {stdout.Result}{stderr.Result}");
        }
    }

    /// <summary>Creates a busybox container running <paramref name="command"/>, unique id, optionally started.</summary>
    public async Task<string> NewContainerAsync(string prefix, string[] command, bool start = true, IReadOnlyDictionary<string, string>? labels = null, RestartPolicy? policy = null, int? stopSignal = null, int? stopTimeout = null, bool autoRemove = false, IReadOnlyList<ContainerMount>? mounts = null)
    {
        string id = $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 9)];
        await Engine.CreateAsync(new NewContainerRequest(id, RootFs, command, Array.Empty<string>(), labels ?? new Dictionary<string, string>(),
            stopSignal, stopTimeout, policy ?? RestartPolicy.No, autoRemove, null, Mounts: mounts));
        if (start)
        {
            await Engine.StartAsync(id);
            await Containers.UntilTrapsAsync(Engine, id, command);
        }

        return id;
    }

    /// <summary>Kills and removes a container whatever its state; for test cleanup.</summary>
    public async Task RemoveAsync(string id)
    {
        try
        {
            await Engine.RemoveAsync(id, force: true);
        }
        catch (ContainerLookupException)
        {
        }
    }

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        try
        {
            foreach (var c in Client.ListContainersAsync().GetAwaiter().GetResult())
            {
                RemoveAsync(c.Id).GetAwaiter().GetResult();
            }
        }
        catch (ContainerdException) when (_owned)
        {
            // A test left the daemon down: testenv.sh stop cleans up without it.
        }

        if (_owned)
        {
            RunScript("stop", Dir);
        }
    }

    private static string RepoRoot()
    {
        var dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "build.ps1")))
        {
            dir = Path.GetDirectoryName(dir);
        }

        return dir ?? throw new InvalidOperationException("cannot find the repository root (build.ps1) above " + AppContext.BaseDirectory);
    }
}

[CollectionDefinition(Name)]
public sealed class ContainerdCollection : ICollectionFixture<ContainerdFixture>
{
    public const string Name = "containerd";
}
