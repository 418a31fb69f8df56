// The benchmark: the module against containerd's floor, dockerd, podman and ctr, interleaved on
// one private containerd. Prints a table; with --doc PATH also writes docs/performance.md and
// its chart. Run it with `dotnet pwsh ./build.ps1 -Task Bench` (it starts the private containerd).
using PSContainerd.Bench;

var env = (string name) => Environment.GetEnvironmentVariable(name) ?? throw new InvalidOperationException($"{name} is not set: run with dotnet pwsh ./build.ps1 -Task Bench");
var o = Options.Parse(args);
var ctx = new BenchContext(env("CONTAINERD_ADDRESS"), env("PSCD_TEST_ROOTFS"), env("PSCD_TEST_DIR"), env("PSCD_MODULE_PATH"), env("PSCD_REPO"));

// Before the first client: the module's channel for this socket is then the tracing one.
var trace = RpcTrace.Install(ctx.Address);
var machine = await Machine.Describe(ctx);
Console.Error.WriteLine($"machine: {machine.Summary}; load at start {machine.LoadAtStart}");

var run = await Runs.Start(ctx, o);
Breakdown? breakdown = null;
BurstResult? burst = null;
try
{
    await run.SingleStops();
    await run.Overruns();
    await run.Bulk();
    await run.ColdStarts();
    if (trace is not null && o.Trace > 0)
    {
        breakdown = await Breakdown.Measure(ctx, trace, run.Samples, o.Trace);
    }
}
finally
{
    await run.DisposeAsync();
}

if (o.Burst > 0 && !o.Skip.Contains("burst"))
{
    Console.Error.WriteLine($"==> {o.Burst} exits in a burst through one engine");
    burst = await Burst.Run(ctx.Address, ctx.RootFs, o.Burst);
}

machine.LoadAtEnd = Machine.Load();
var report = new Report(run.Samples, machine, breakdown, burst, o);
report.WriteConsole();
if (o.Doc is not null)
{
    await report.WriteDoc(o.Doc);
}

return 0;

internal sealed record BenchContext(string Address, string RootFs, string TestDir, string Module, string Repo)
{
    public string Dir { get; } = Directory.CreateDirectory(Path.Combine(TestDir, "bench")).FullName;
}
