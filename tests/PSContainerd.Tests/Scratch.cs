using System.Diagnostics;
using PSContainerd.Containerd;
using PSContainerd.Engine;
using Xunit;

namespace PSContainerd.Tests;

/// <summary>
/// A namespace of its own on the fixture's containerd, where engines can be opened and thrown
/// away: an engine disposed plays "the session that is gone", a new one "a fresh process".
/// Removes every container of the namespace at the end.
/// </summary>
internal sealed class Scratch : IAsyncDisposable
{
    private readonly ContainerdFixture _fx;
    private readonly List<ContainerEngine> _engines = new();

    public Scratch(ContainerdFixture fx, string tag)
    {
        _fx = fx;
        Namespace = $"xunit-{Environment.ProcessId}-{tag}-{Guid.NewGuid():N}"[..40];
        Client = new ContainerdClient(fx.Address, Namespace);
    }

    public string Namespace { get; }

    /// <summary>A raw client on the namespace: acts as nobody's engine.</summary>
    public ContainerdClient Client { get; }

    public ContainerEngine Open()
    {
        var e = ContainerEngine.CreateUnshared(_fx.Address, Namespace);
        _engines.Add(e);
        return e;
    }

    /// <summary>
    /// Two engines as two sessions: the first opened, and holding the restart duty before the
    /// second opens (which then does not hold it).
    /// </summary>
    public async Task<(ContainerEngine Holder, ContainerEngine Other)> OpenHolderAndOtherAsync()
    {
        var holder = Open();
        await Containers.Until(() => Task.FromResult(holder.IsSupervisor), TimeSpan.FromSeconds(5), "the first engine holds the duty");
        var other = Open();
        Assert.False(other.IsSupervisor);
        return (holder, other);
    }

    /// <summary>
    /// A holder of the namespace's restart duty that does nothing (a holder that hangs, or one
    /// gone to sleep): engines cannot take the duty until it is disposed. A lock of its own open
    /// file, so it excludes the engines of this process as it would another process's.
    /// </summary>
    public async Task<SupervisorLock> HoldDutyAsync()
    {
        var held = new SupervisorLock(_fx.Address, Namespace, _ => { });
        held.Start();
        await Containers.Until(() => Task.FromResult(held.IsHeld), TimeSpan.FromSeconds(5), "the idle holder has the lock");
        return held;
    }

    public Task<string> NewContainerAsync(ContainerEngine engine, string prefix, string[] command, bool start = true, RestartPolicy? policy = null) =>
        Containers.NewAsync(engine, _fx.RootFs, prefix, command, start, policy);

    public async ValueTask DisposeAsync()
    {
        foreach (var e in _engines)
        {
            try
            {
                await e.DisposeAsync();
            }
            catch (Exception)
            {
                // Cleanup below must run whatever state a failed test left the engine in.
            }
        }

        var cleaner = ContainerEngine.CreateUnshared(_fx.Address, Namespace);
        try
        {
            foreach (var c in await Client.ListContainersAsync())
            {
                try
                {
                    await cleaner.RemoveAsync(c.Id, force: true);
                }
                catch (ContainerdException)
                {
                }
            }
        }
        finally
        {
            await cleaner.DisposeAsync();
        }
    }
}

/// <summary>Helpers shared by the restore, restart and daemon tests.</summary>
internal static class Containers
{
    /// <summary>PID 1 with a TERM handler: exits 0 at once.</summary>
    public static readonly string[] Cooperative = { "/bin/sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait" };

    /// <summary>sleep as PID 1: SIGTERM is dropped by the kernel.</summary>
    public static readonly string[] IgnoresTerm = { "/bin/sleep", "1000" };

    public static async Task<string> NewAsync(ContainerEngine engine, string rootfs, string prefix, string[] command, bool start = true, RestartPolicy? policy = null)
    {
        string id = $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 9)];
        await engine.CreateAsync(new NewContainerRequest(id, rootfs, command, Array.Empty<string>(), new Dictionary<string, string>(),
            null, null, policy ?? RestartPolicy.No, false, null));
        if (start)
        {
            await engine.StartAsync(id);
            await UntilTrapsAsync(engine, id, command);
        }

        return id;
    }

    /// <summary>
    /// For a command that installs a trap: waits until the shell has installed it (the trapped
    /// signals' bits are set in SigCgt of /proc/PID/status). A stop sent before that finds PID 1
    /// without a handler, and the kernel drops the signal: a race in the test container, not in
    /// the stop.
    /// </summary>
    public static async Task UntilTrapsAsync(ContainerEngine engine, string id, string[] command)
    {
        ulong mask = TrappedSignals(command);
        if (mask == 0)
        {
            return;
        }

        var pid = (await engine.GetInfoAsync(id)).Pid;
        await Until(() => Task.FromResult(pid is null || Catches(pid.Value, mask)), TimeSpan.FromSeconds(10), $"{id}'s shell installed its trap");
    }

    /// <summary>The SigCgt bits of the signals a `trap ... SIG` in <paramref name="command"/> names.</summary>
    public static ulong TrappedSignals(string[] command)
    {
        string text = string.Join(' ', command);
        if (!text.Contains("trap", StringComparison.Ordinal))
        {
            return 0;
        }

        ulong mask = 0;
        foreach (var (name, number) in new[] { ("HUP", 1), ("INT", 2), ("USR1", 10), ("USR2", 12), ("TERM", 15) })
        {
            if (System.Text.RegularExpressions.Regex.IsMatch(text, $@"\b(SIG)?{name}\b"))
            {
                mask |= 1UL << (number - 1);
            }
        }

        return mask;
    }

    private static bool Catches(uint pid, ulong mask)
    {
        try
        {
            // runc's init (a Go program that catches every signal) is PID 1 until it execs the command
            if (!ReadinessChecks.HasExecuted(pid))
            {
                return false;
            }

            var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("SigCgt:", StringComparison.Ordinal));
            return line is null || (Convert.ToUInt64(line[7..].Trim(), 16) & mask) == mask;
        }
        catch (IOException)
        {
            return true; // gone: nothing left to wait for
        }
    }

    /// <summary>Bounded negative check: no running task for <paramref name="id"/> within <paramref name="window"/>.</summary>
    public static async Task AssertNoTask(ContainerdClient client, string id, TimeSpan window, string because)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < window)
        {
            var t = await client.GetTaskAsync(id);
            Assert.True(t is null || t.Status == Containerd.TaskStatus.Stopped, $"{because}: a task runs (pid {t?.Pid}) after {sw.Elapsed}");
            await Task.Delay(50);
        }
    }

    public static RestartPolicy Policy(string text) =>
        RestartPolicy.TryParse(text, out var p) ? p : throw new ArgumentException(text);

    /// <summary>
    /// An exec made by another tool (ctr, as a user would): <c>/bin/sh -c "exit CODE"</c> in the
    /// container's task, with <paramref name="execId"/> (the container's own id, to look like its
    /// init to anyone who goes by ids). Its exit code, as ctr returns it.
    /// </summary>
    public static async Task<int> CtrExecAsync(string address, string @namespace, string id, string execId, int code)
    {
        using var ctr = Process.Start(new ProcessStartInfo("ctr", new[] { "--address", address, "-n", @namespace, "tasks", "exec", "--exec-id", execId, id, "/bin/sh", "-c", $"exit {code}" })
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        await ctr.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(15));
        return ctr.ExitCode;
    }

    /// <summary>Polls <paramref name="condition"/> until it holds; fails with <paramref name="what"/> after <paramref name="timeout"/>.</summary>
    public static async Task Until(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var sw = Stopwatch.StartNew();
        while (!await condition())
        {
            if (sw.Elapsed > timeout)
            {
                Assert.Fail($"timed out after {timeout.TotalSeconds:0.#} s waiting for: {what}");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>Reads events for <paramref name="id"/> until <paramref name="stop"/> says enough; fails after <paramref name="timeout"/>.</summary>
    public static async Task<List<ContainerEvent>> Collect(System.Threading.Channels.ChannelReader<ContainerEvent> reader, string id, Func<List<ContainerEvent>, bool> stop, TimeSpan timeout)
    {
        var seen = new List<ContainerEvent>();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            while (!stop(seen))
            {
                var ev = await reader.ReadAsync(cts.Token);
                if (ev.Id == id)
                {
                    seen.Add(ev);
                }
            }
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"timed out after {timeout.TotalSeconds:0.#} s; events seen: {string.Join(", ", seen.Select(e => e.Type))}");
        }

        return seen;
    }

    /// <summary>The pid of a process that has exited: an owner that is certainly gone.</summary>
    public static int DeadPid()
    {
        using var p = Process.Start(new ProcessStartInfo("true"))!;
        p.WaitForExit();
        return p.Id;
    }

    /// <summary>The runc v2 shim serving <paramref name="id"/> in <paramref name="ns"/> (its command line has -namespace NS -id ID).</summary>
    public static int? ShimPid(string ns, string id)
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid))
            {
                continue;
            }

            string[] args;
            try
            {
                args = File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0');
            }
            catch (IOException)
            {
                continue;
            }

            if (args.Length > 0 && args[0].EndsWith("containerd-shim-runc-v2", StringComparison.Ordinal)
                && ArgAfter(args, "-id") == id && ArgAfter(args, "-namespace") == ns && !args.Contains("start"))
            {
                return pid;
            }
        }

        return null;
    }

    public static bool Alive(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)] is not ('Z' or 'X');
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static string? ArgAfter(string[] args, string flag)
    {
        int i = Array.IndexOf(args, flag);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
