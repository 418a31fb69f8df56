// Latency of a stop, measured against the floor: the client alone doing Kill -> exit event ->
// task delete, with nothing else. Prints one JSON object for bench.ps1 and a table for people.
using System.Diagnostics;
using System.Text.Json;
using PSContainerd;
using PSContainerd.Containerd;
using PSContainerd.Engine;

string address = Environment.GetEnvironmentVariable("CONTAINERD_ADDRESS") ?? throw new InvalidOperationException("CONTAINERD_ADDRESS is not set");
string rootfs = Environment.GetEnvironmentVariable("PSCD_TEST_ROOTFS") ?? throw new InvalidOperationException("PSCD_TEST_ROOTFS is not set");
int n = args.Length > 0 ? int.Parse(args[0]) : 20;
int scale = args.Length > 1 ? int.Parse(args[1]) : 100;
string[] cooperative = { "/bin/sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait" };

var floor = await Floor();
var engine = await EngineStops();
var timerSlack = new List<double>();
var overrun = await Overrun();
var (scaleTotal, scaleResults) = await Scale();

var figures = new Dictionary<string, double>
{
    ["floor_median_ms"] = Median(floor),
    ["engine_stop_median_ms"] = Median(engine),
    ["engine_over_floor"] = Median(engine) / Median(floor),
    ["escalation_overrun_median_ms"] = Median(overrun),
    ["escalation_overrun_max_ms"] = overrun.Max(),
    ["escalation_timer_slack_median_ms"] = Median(timerSlack),
    ["scale_containers"] = scale,
    ["scale_total_ms"] = scaleTotal,
    ["scale_stop_median_ms"] = Median(scaleResults),
    ["scale_stop_max_ms"] = scaleResults.Max(),
};
Console.Error.WriteLine($"floor (Kill -> exit event -> delete): median {Median(floor):0.0} ms, p90 {P90(floor):0.0} ms over {floor.Count}");
Console.Error.WriteLine($"engine StopAsync (warm):              median {Median(engine):0.0} ms, p90 {P90(engine):0.0} ms over {engine.Count}");
Console.Error.WriteLine($"ratio engine/floor:                    {figures["engine_over_floor"]:0.00}x");
Console.Error.WriteLine($"escalation overrun past -Timeout 1:    median {Median(overrun):0.0} ms, max {overrun.Max():0.0} ms over {overrun.Count} (timer alone: median {Median(timerSlack):0.0} ms)");
Console.Error.WriteLine($"{scale} containers stopped at once:       {scaleTotal:0} ms in all; per stop median {Median(scaleResults):0} ms, max {scaleResults.Max():0} ms");
Console.WriteLine(JsonSerializer.Serialize(figures));
return 0;

async Task<List<double>> Floor()
{
    // A namespace no engine watches: only this loop touches its tasks.
    var client = new ContainerdClient(address, "bench-floor");
    var results = new List<double>();
    using var cts = new CancellationTokenSource();
    var exits = System.Threading.Channels.Channel.CreateUnbounded<string>();
    var live = new TaskCompletionSource();
    _ = Task.Run(async () =>
    {
        try
        {
            await foreach (var ev in client.SubscribeAsync(new[] { "namespace==bench-floor,topic==\"/tasks/exit\"", "namespace==bench-floor,topic==\"/pscontainerd/sync\"" }, cts.Token))
            {
                if (ev is MarkerEvent)
                {
                    live.TrySetResult();
                }
                else
                {
                    exits.Writer.TryWrite(ev.ContainerId);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    });
    while (!live.Task.IsCompleted)
    {
        await client.PublishMarkerAsync("/pscontainerd/sync", "bench");
        await Task.WhenAny(live.Task, Task.Delay(100));
    }

    for (int i = 0; i < n + 2; i++)
    {
        string id = await Raw(client, "floor", cooperative);
        var sw = Stopwatch.StartNew();
        await client.KillAsync(id, 15);
        while (await exits.Reader.ReadAsync() != id)
        {
        }

        await client.DeleteTaskAsync(id);
        sw.Stop();
        if (i >= 2)
        {
            results.Add(sw.Elapsed.TotalMilliseconds); // the first two warm the channel and the JIT
        }

        await client.DeleteContainerAsync(id);
    }

    cts.Cancel();
    return results;
}

async Task<List<double>> EngineStops()
{
    var e = ContainerEngine.For(address, "bench-engine");
    var results = new List<double>();
    for (int i = 0; i < n + 2; i++)
    {
        string id = await New(e, "stop", cooperative);
        var sw = Stopwatch.StartNew();
        var r = await e.StopAsync(id, null, 10, null);
        sw.Stop();
        if (r.ExitCode != 0)
        {
            throw new InvalidOperationException($"cooperative stop exited {r.ExitCode}");
        }

        if (i >= 2)
        {
            results.Add(sw.Elapsed.TotalMilliseconds);
        }

        await e.RemoveAsync(id, force: true);
    }

    return results;
}

async Task<List<double>> Overrun()
{
    var e = ContainerEngine.For(address, "bench-engine");
    var results = new List<double>();
    for (int i = 0; i < 5; i++)
    {
        string id = await New(e, "overrun", new[] { "/bin/sleep", "1000" });
        var r = await e.StopAsync(id, null, 1, null);
        // The grace period runs from the signal's delivery (its step); "kill" is logged once
        // containerd has delivered SIGKILL, so this is timer slack plus the SIGKILL RPC.
        var signal = r.Steps.First(s => s.Action == "signal").At;
        var kill = r.Steps.First(s => s.Action == "kill").At;
        var timer = r.Steps.First(s => s.Action == "timeout").At;
        results.Add((kill - signal).TotalMilliseconds - 1000);
        timerSlack.Add((timer - signal).TotalMilliseconds - 1000);
        await e.RemoveAsync(id, force: true);
    }

    return results;
}

async Task<(double Total, List<double> Each)> Scale()
{
    // FAILURES.md row 11: many stops at once, each on its own container, all through one engine.
    var e = ContainerEngine.For(address, "bench-scale");
    var ids = new List<string>();
    for (int i = 0; i < scale; i++)
    {
        ids.Add(await New(e, "scale", cooperative));
    }

    var sw = Stopwatch.StartNew();
    var results = await Task.WhenAll(ids.Select(id => e.StopAsync(id, null, 10, null)));
    sw.Stop();
    if (results.Any(r => r.ExitCode != 0))
    {
        throw new InvalidOperationException("a cooperative stop at scale did not exit 0");
    }

    await Task.WhenAll(ids.Select(id => e.RemoveAsync(id, force: true)));
    return (sw.Elapsed.TotalMilliseconds, results.Select(r => r.Duration.TotalMilliseconds).ToList());
}

async Task<string> New(ContainerEngine e, string prefix, string[] command)
{
    string id = $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 9)];
    await e.CreateAsync(new NewContainerRequest(id, rootfs, command, Array.Empty<string>(), new Dictionary<string, string>(), null, null, RestartPolicy.No, false, null));
    await e.StartAsync(id);
    return id;
}

async Task<string> Raw(ContainerdClient client, string prefix, string[] command)
{
    string id = $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 9)];
    var req = new NewContainerRequest(id, rootfs, command, Array.Empty<string>(), new Dictionary<string, string>(), null, null, RestartPolicy.No, false, null);
    await client.CreateContainerAsync(new ContainerCreateSpec(id, OciSpecBuilder.Build(req, client.Namespace), new Dictionary<string, string>()));
    await client.CreateTaskAsync(id);
    await client.StartTaskAsync(id);
    return id;
}

static double Median(List<double> xs) => xs.Order().ElementAt(xs.Count / 2);

static double P90(List<double> xs) => xs.Order().ElementAt(Math.Min(xs.Count - 1, (int)(xs.Count * 0.9)));
