// The benchmark: the module against containerd's floor, dockerd, podman and ctr, interleaved on
// one private containerd. Prints a table, saves the raw figures (--results), and with --doc PATH
// writes docs/performance.md and its chart. `--render true` draws them again from saved figures.
// Run it with `dotnet pwsh ./build.ps1 -Task Bench` (it starts the private containerd).
using PSContainerd.Bench;

if (args is ["--probe-hash", var which, var dll])
{
    return HashProbe.Probe(which, dll);
}

var o = Options.Parse(args);
Results results;
if (o.Render)
{
    results = await Results.Load(o.Results ?? throw new ArgumentException("--render needs --results PATH"));
    o.Bulk = results.Bulk;
}
else
{
    results = await Measure(o);
    if (o.Results is not null)
    {
        await results.Save(o.Results);
    }
}

var report = new Report(Samples.From(results.Samples), results.Machine, results.Breakdown, results.Burst, o);
report.WriteConsole();
if (o.Doc is not null)
{
    await report.WriteDoc(o.Doc);
}

return 0;

static async Task<Results> Measure(Options o)
{
    var env = (string name) => Environment.GetEnvironmentVariable(name) ?? throw new InvalidOperationException($"{name} is not set: run with dotnet pwsh ./build.ps1 -Task Bench");
    var ctx = new BenchContext(env("CONTAINERD_ADDRESS"), env("PSCD_TEST_ROOTFS"), env("PSCD_TEST_DIR"), env("PSCD_MODULE_PATH"), env("PSCD_REPO"));

    // Before the first client: the module's channel for this socket is then the tracing one.
    var trace = RpcTrace.Install(ctx.Address);
    var machine = await Machine.Describe(ctx);
    Console.Error.WriteLine($"machine: {machine.Summary}; load at start {machine.LoadAtStart}");
    if (trace is null)
    {
        Console.Error.WriteLine("    the module's channel cache is not where the bench looks for it: no RPC trace in this run");
    }

    var run = await Runs.Start(ctx, o);
    Breakdown? breakdown = null;
    try
    {
        await run.SingleStops();
        await run.Overruns();
        await run.Bulk();
        await run.ColdStarts();
        if (trace is not null && o.Trace > 0)
        {
            breakdown = await Breakdown.Measure(ctx, trace, run.Samples, o.Trace);
            breakdown.Escalation = await Breakdown.Measure(ctx, trace, run.Samples, Math.Min(o.Trace, 5), cooperative: false);
        }
    }
    finally
    {
        await run.DisposeAsync();
    }

    machine.LoadAtEnd = Machine.Load();
    var results = new Results(machine, run.Samples.All, breakdown, null, o.Bulk);
    if (o.Burst > 0 && !o.Skip.Contains("burst"))
    {
        if (o.Results is not null)
        {
            await results.Save(o.Results); // what was measured survives a burst that fails
        }

        Console.Error.WriteLine($"==> {o.Burst} exits in a burst through one engine");
        try
        {
            results = results with { Burst = await Burst.Run(ctx.Address, ctx.RootFs, o.Burst) };
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"    the burst failed: {e.Message}");
            results = results with { Burst = new BurstResult(o.Burst, 0, o.Burst, 0, 0, $"the burst failed: {e.Message}") };
        }

        machine.LoadAtEnd = Machine.Load();
    }

    return results;
}

internal sealed record BenchContext(string Address, string RootFs, string TestDir, string Module, string Repo)
{
    public string Dir { get; } = Directory.CreateDirectory(Path.Combine(TestDir, "bench")).FullName;
}
