using System.Diagnostics;
using PSContainerd.Containerd;
using PSContainerd.Engine;

namespace PSContainerd.Bench;

/// <summary>
/// The systems under test and the interleaved rounds: each round takes one sample of every
/// system, in an order rotated from round to round, so a noisy moment hurts every system alike.
/// </summary>
internal sealed class Runs : IAsyncDisposable
{
    public const string Floor = "floor (client alone)";
    public const string FloorPidfd = "floor, signal by pidfd";
    public const string Engine = "module engine (in-process)";
    public const string Warm = "Stop-Container (warm session)";
    public const string ColdStop = "Stop-Container (cold pwsh -c)";
    public const string DockerApi = "dockerd 20.10 (API)";
    public const string DockerCli = "docker stop (CLI)";
    public const string PodmanCli = "podman stop (CLI)";
    public const string CtrCli = "ctr kill + rm (CLI)";
    public const string BulkDefault = "Stop-Container, default -ThrottleLimit (50)";
    public const string Bulk100 = "Stop-Container -ThrottleLimit 100";
    public const string BarePwsh = "bare pwsh -c exit";
    public const string ModulePwsh = "pwsh -c Import-Module; Get-Container";
    public const string NoWarmUp = "the same, no warm-up at import";
    public const string BarePwshPrecompiled = "bare pwsh -c exit, PowerShell precompiled";
    public const string ModulePwshPrecompiled = "pwsh -c Import-Module; Get-Container, PowerShell precompiled";
    public const string NoCrossModule = "the same, no cross-module inlining";
    public const string HashSha = "first lock-name hash, SHA256.HashData";
    public const string HashManaged = "first lock-name hash, managed SHA-256";

    private readonly BenchContext _ctx;
    private readonly Options _o;
    private readonly Bench.Floor _floor;
    private readonly Bench.Floor _cold;
    private readonly ContainerEngine _engine;
    private readonly Session _session;
    private readonly Dockerd? _docker;
    private readonly Podman? _podman;
    private readonly Ctr? _ctr;
    private readonly Pwsh _pwsh;

    private Runs(BenchContext ctx, Options o, Bench.Floor floor, Bench.Floor cold, Session session, Dockerd? docker, Podman? podman, Ctr? ctr)
    {
        _ctx = ctx;
        _o = o;
        _floor = floor;
        _cold = cold;
        _engine = ContainerEngine.For(ctx.Address, "bench-engine");
        _session = session;
        _docker = docker;
        _podman = podman;
        _ctr = ctr;
        _pwsh = Pwsh.Of(o.Pwsh ?? throw new ArgumentException("--pwsh PATH is needed: PowerShell's executable or pwsh.dll (bench/bench.ps1 passes its own)"));
    }

    /// <summary>Rows in this order: the floor first, then the module, then the others.</summary>
    public static readonly string[] Order = { Floor, FloorPidfd, Engine, Warm, ColdStop, BulkDefault, Bulk100, DockerApi, DockerCli, PodmanCli, CtrCli, BarePwsh, ModulePwsh, NoWarmUp, NoCrossModule, BarePwshPrecompiled, ModulePwshPrecompiled, HashSha, HashManaged };

    public Samples Samples { get; } = new();

    public static async Task<Runs> Start(BenchContext ctx, Options o)
    {
        Console.Error.WriteLine("==> setting up: floor, module session, dockerd, podman, ctr");
        string tar = Path.Combine(ctx.Dir, "rootfs.tar");
        (await Proc.Run("tar", new[] { "-C", ctx.RootFs, "-cf", tar, "." })).Check("tar of the busybox root folder");
        var floor = await Bench.Floor.Start(ctx.Address, "bench-floor", ctx.RootFs);
        var cold = await Bench.Floor.Start(ctx.Address, "bench-cold", ctx.RootFs);
        var session = await Session.Start(ctx.Repo, ctx.Module, ctx.RootFs);
        var docker = await Optional("dockerd", Dockerd.Installed && !o.Skip.Contains("docker"), () => Dockerd.Start(ctx.Address, ctx.Dir, tar));
        var podman = await Optional("podman", Podman.Installed && !o.Skip.Contains("podman"), () => Podman.Start(ctx.Dir, tar));
        var ctr = Ctr.Installed && !o.Skip.Contains("ctr") ? new Ctr(ctx.Address, ctx.RootFs) : null;
        return new Runs(ctx, o, floor, cold, session, docker, podman, ctr);
    }

    private static async Task<T?> Optional<T>(string name, bool wanted, Func<Task<T>> start) where T : class
    {
        if (!wanted)
        {
            Console.Error.WriteLine($"    {name}: not installed or skipped; its rows are left out");
            return null;
        }

        try
        {
            return await start();
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"    {name} could not be set up, its rows are left out: {e.Message}");
            return null;
        }
    }

    public async Task SingleStops()
    {
        Console.Error.WriteLine($"==> cooperative stop, {_o.Iterations} interleaved rounds (+1 warm-up)");
        var systems = new List<(string, Func<Task<double>>)>
        {
            (Floor, () => FloorStop(Floor, 10, cooperative: true, direct: false)),
            (FloorPidfd, () => FloorStop(FloorPidfd, 10, cooperative: true, direct: true)),
            (Engine, () => EngineStop(10, cooperative: true)),
            (Warm, () => _session.Stop(10, cooperative: true)),
            (ColdStop, ColdStopOnce),
        };
        if (_docker is { } d)
        {
            systems.Add((DockerApi, async () => { var c = await d.Create(Bench.Floor.CooperativeCommand); try { return await d.StopApi(c.Id, 10, 0); } finally { await d.Remove(c.Id); } }));
            systems.Add((DockerCli, async () => { var c = await d.Create(Bench.Floor.CooperativeCommand); try { return await d.StopCli(c.Id, 10, 0); } finally { await d.Remove(c.Id); } }));
        }

        if (_podman is { } p)
        {
            systems.Add((PodmanCli, async () => { var c = await p.Create(Bench.Floor.CooperativeCommand); try { return await p.Stop(new[] { c.Id }, 10, 0); } finally { await p.Remove(new[] { c.Id }); } }));
        }

        if (_ctr is { } ctr)
        {
            systems.Add((CtrCli, async () => { var c = await ctr.Create(Bench.Floor.CooperativeCommand); try { return await ctr.Stop(c.Id); } finally { await ctr.Remove(c.Id); } }));
        }

        await Rounds("stop", _o.Iterations, 1, systems);
    }

    public async Task Overruns()
    {
        Console.Error.WriteLine($"==> escalation: -Timeout 1 on a PID 1 that ignores SIGTERM, {_o.Overrun} rounds");
        var systems = new List<(string, Func<Task<double>>)>
        {
            (Floor, async () => await FloorStop(null, 1, cooperative: false, direct: false) - 1000),
            (Engine, async () => await EngineStop(1, cooperative: false) - 1000),
            (Warm, async () => await _session.Stop(1, cooperative: false) - 1000),
        };
        if (_docker is { } d)
        {
            systems.Add((DockerApi, async () => { var c = await d.Create(Bench.Floor.StubbornCommand); try { return await d.StopApi(c.Id, 1, 137) - 1000; } finally { await d.Remove(c.Id); } }));
        }

        if (_podman is { } p)
        {
            systems.Add((PodmanCli, async () => { var c = await p.Create(Bench.Floor.StubbornCommand); try { return await p.Stop(new[] { c.Id }, 1, 137) - 1000; } finally { await p.Remove(new[] { c.Id }); } }));
        }

        await Rounds("overrun", _o.Overrun, 0, systems);
    }

    public async Task Bulk()
    {
        int n = _o.Bulk;
        Console.Error.WriteLine($"==> {n} containers stopped at once, {_o.BulkRounds} round(s)");
        var systems = new List<(string, Func<Task<double>>)>
        {
            (Floor, async () =>
            {
                var made = await Many(n, () => _floor.Create("bulk", Bench.Floor.CooperativeCommand));
                try { return await _floor.StopAll(made.Select(c => c.Id).ToList()); }
                finally { await Many(n, made, c => _floor.Remove(c.Id)); }
            }),
            (BulkDefault, () => _session.StopMany(n, null)),
            (Bulk100, () => _session.StopMany(n, 100)),
        };
        if (_docker is { } d)
        {
            systems.Add((DockerApi, async () =>
            {
                var made = await Many(n, () => d.Create(Bench.Floor.CooperativeCommand));
                try { return await d.StopAll(made.Select(c => c.Id).ToList()); }
                finally { await Many(n, made, c => d.Remove(c.Id)); }
            }));
        }

        if (_podman is { } p)
        {
            systems.Add((PodmanCli, async () =>
            {
                var made = await Many(n, () => p.Create(Bench.Floor.CooperativeCommand));
                try { return await p.Stop(made.Select(c => c.Id).ToList(), 10, 0); }
                finally { await p.Remove(made.Select(c => c.Id).ToList()); }
            }));
        }

        await Rounds("bulk", _o.BulkRounds, 0, systems);
    }

    /// <summary>
    /// PowerShell run directly, each row with a startup-profile cache of its own: a bare start,
    /// the module's import and first call, and the same with one cold-start lever undone (its
    /// effect is the difference): the background warm-up (no default socket to warm, the address
    /// given instead) and crossgen's cross-module inlining (a build without it, when bench.ps1 made one).
    /// </summary>
    public async Task ColdStarts()
    {
        Console.Error.WriteLine($"==> cold start, {_o.Cold} rounds, {_pwsh}");
        string Import(string module, string address = "") =>
            $"Import-Module '{module.Replace("'", "''")}'; Get-Container -Namespace bench-cold{address} | Out-Null";
        var rows = new List<(string, Func<Task<double>>)>
        {
            (BarePwsh, () => ColdPwsh(BarePwsh, "exit 0")),
            (ModulePwsh, () => ColdPwsh(ModulePwsh, Import(_ctx.Module))),
            (NoWarmUp, () => ColdPwsh(NoWarmUp, Import(_ctx.Module, $" -Address '{_ctx.Address.Replace("'", "''")}'"),
                new Dictionary<string, string?> { ["CONTAINERD_ADDRESS"] = Path.Combine(_ctx.Dir, "no-socket-here") })),
        };
        if (_o.NoCrossModule is { } other)
        {
            rows.Add((NoCrossModule, () => ColdPwsh(NoCrossModule, Import(other))));
        }

        if (_o.PwshPrecompiled is { } precompiled)
        {
            var packaged = Pwsh.Of(precompiled);
            rows.Add((BarePwshPrecompiled, () => ColdPwsh(BarePwshPrecompiled, "exit 0", pwsh: packaged)));
            rows.Add((ModulePwshPrecompiled, () => ColdPwsh(ModulePwshPrecompiled, Import(_ctx.Module), pwsh: packaged)));
        }

        await Rounds("cold", _o.Cold, 1, rows);

        // Lock names are hashed at an engine's first call: SHA256 loads OpenSSL on its first use.
        await Rounds("hash", _o.Cold * 2, 1, new List<(string, Func<Task<double>>)>
        {
            (HashSha, () => HashProbe.Run("sha", _ctx.Module)),
            (HashManaged, () => HashProbe.Run("managed", _ctx.Module)),
        });
    }

    private Task<double> ColdPwsh(string row, string script, IReadOnlyDictionary<string, string?>? env = null, Pwsh? pwsh = null) =>
        Session.Cold(pwsh ?? _pwsh, _ctx.Repo, script, Path.Combine(_ctx.Dir, "pwsh-cache", new string(row.Where(char.IsLetterOrDigit).ToArray())), env);

    private async Task Rounds(string figure, int rounds, int warmup, List<(string Name, Func<Task<double>> Sample)> systems)
    {
        for (int r = 0; r < rounds + warmup; r++)
        {
            for (int k = 0; k < systems.Count; k++)
            {
                var (name, sample) = systems[(k + r) % systems.Count];
                try
                {
                    double ms = await sample();
                    if (r >= warmup)
                    {
                        Samples.Add(figure, name, ms);
                    }
                }
                catch (Exception e)
                {
                    Console.Error.WriteLine($"    {figure} / {name}: sample failed: {e.Message}");
                    if (r >= warmup)
                    {
                        Samples.Fail(figure, name, e.Message);
                    }
                }
            }

            Console.Error.WriteLine($"    round {r + 1} of {rounds + warmup} done{(r < warmup ? " (warm-up)" : string.Empty)}");
        }
    }

    private async Task<double> FloorStop(string? phasesOf, int timeout, bool cooperative, bool direct)
    {
        var (id, pid) = await _floor.Create("floor", cooperative ? Bench.Floor.CooperativeCommand : Bench.Floor.StubbornCommand);
        try
        {
            var ph = await _floor.Stop(id, pid, timeout, direct);
            if (ph.ExitStatus != (cooperative ? 0u : 137u))
            {
                throw new InvalidOperationException($"floor stop exited {ph.ExitStatus}");
            }

            if (phasesOf is not null)
            {
                Samples.Add("phase:signal", phasesOf, ph.KillRpc);
                Samples.Add("phase:signal-to-event", phasesOf, ph.SignalToEvent);
                Samples.Add("phase:delete", phasesOf, ph.Delete);
            }

            return ph.Total;
        }
        finally
        {
            await _floor.Remove(id);
        }
    }

    private async Task<double> EngineStop(int timeout, bool cooperative)
    {
        string id = await EngineCreate(_engine, _ctx.RootFs, cooperative);
        try
        {
            var sw = Stopwatch.StartNew();
            var r = await _engine.StopAsync(await _engine.ResolveAsync(id), null, timeout, null);
            sw.Stop();
            if (r.ExitCode != (cooperative ? 0 : 137))
            {
                throw new InvalidOperationException($"engine stop exited {r.ExitCode}: {string.Join("; ", r.Steps)}");
            }

            return sw.Elapsed.TotalMilliseconds;
        }
        finally
        {
            await _engine.RemoveAsync(id, force: true);
        }
    }

    public static async Task<string> EngineCreate(ContainerEngine e, string rootfs, bool cooperative)
    {
        var command = cooperative ? Bench.Floor.CooperativeCommand : Bench.Floor.StubbornCommand;
        string id = $"eng-{Guid.NewGuid():N}"[..12];
        await e.CreateAsync(new NewContainerRequest(id, rootfs, command, Array.Empty<string>(), new Dictionary<string, string>(), null, null, RestartPolicy.No, false, null));
        var info = await e.StartAsync(id);
        await Trap.Wait((uint)(info.Pid ?? 0), command);
        return id;
    }

    private async Task<double> ColdStopOnce()
    {
        var (id, _) = await _cold.Create("cold", Bench.Floor.CooperativeCommand);
        try
        {
            double ms = await ColdPwsh(ColdStop, $"Import-Module '{_ctx.Module.Replace("'", "''")}'; $null = Stop-Container -Id {id} -Timeout 10 -Namespace bench-cold -ErrorAction Stop");
            var code = (await _cold.Client.GetContainerAsync(id)).Labels.GetValueOrDefault(StateLabels.ExitCode);
            return code == "0" ? ms : throw new InvalidOperationException($"cold stop recorded exit {code ?? "none"}");
        }
        finally
        {
            await _cold.Remove(id);
        }
    }

    /// <summary>Makes <paramref name="n"/> containers, four at a time (setup, not timed).</summary>
    private static async Task<List<(string Id, uint Pid)>> Many(int n, Func<Task<(string Id, uint Pid)>> make)
    {
        var made = new List<(string, uint)>();
        using var gate = new SemaphoreSlim(4);
        await Task.WhenAll(Enumerable.Range(0, n).Select(async _ =>
        {
            await gate.WaitAsync();
            try
            {
                var c = await make();
                lock (made)
                {
                    made.Add(c);
                }
            }
            finally
            {
                gate.Release();
            }
        }));
        return made;
    }

    private static async Task Many(int n, List<(string Id, uint Pid)> items, Func<(string Id, uint Pid), Task> act)
    {
        using var gate = new SemaphoreSlim(4);
        await Task.WhenAll(items.Select(async c =>
        {
            await gate.WaitAsync();
            try
            {
                await act(c);
            }
            catch (Exception e)
            {
                Console.Error.WriteLine($"    cleanup of {c.Id}: {e.Message}");
            }
            finally
            {
                gate.Release();
            }
        }));
    }

    public async ValueTask DisposeAsync()
    {
        await _session.DisposeAsync();
        if (_docker is not null)
        {
            await _docker.DisposeAsync();
        }

        if (_podman is not null)
        {
            await _podman.DisposeAsync();
        }

        await _floor.DisposeAsync();
        await _cold.DisposeAsync();
    }
}
