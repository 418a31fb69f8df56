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
var scaleFloor = await ScaleFloor();
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
    ["scale_floor_total_ms"] = scaleFloor,
    ["scale_stop_median_ms"] = Median(scaleResults),
    ["scale_stop_max_ms"] = scaleResults.Max(),
};
Console.Error.WriteLine($"floor (Kill -> exit event -> delete): median {Median(floor):0.0} ms, p90 {P90(floor):0.0} ms over {floor.Count}");
Console.Error.WriteLine($"engine StopAsync (warm):              median {Median(engine):0.0} ms, p90 {P90(engine):0.0} ms over {engine.Count}");
Console.Error.WriteLine($"ratio engine/floor:                    {figures["engine_over_floor"]:0.00}x");
Console.Error.WriteLine($"escalation overrun past -Timeout 1:    median {Median(overrun):0.0} ms, max {overrun.Max():0.0} ms over {overrun.Count} (timer alone: median {Median(timerSlack):0.0} ms)");
Console.Error.WriteLine($"{scale} containers, floor at once:         {scaleFloor:0} ms in all (client alone: kill all, exit events, delete all)");
Console.Error.WriteLine($"{scale} containers stopped at once:       {scaleTotal:0} ms in all ({scaleTotal / scaleFloor:0.00}x floor); per stop median {Median(scaleResults):0} ms, max {scaleResults.Max():0} ms");
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
        using (var bound = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
        {
            while (await exits.Reader.ReadAsync(bound.Token) != id)
            {
            }
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

async Task<double> ScaleFloor()
{
    var client = new ContainerdClient(address, "bench-floor-scale");
    using var cts = new CancellationTokenSource();
    var exited = new System.Collections.Concurrent.ConcurrentDictionary<string, bool>();
    var all = new TaskCompletionSource();
    var live = new TaskCompletionSource();
    var ids = new List<string>();
    _ = Task.Run(async () =>
    {
        try
        {
            await foreach (var ev in client.SubscribeAsync(new[] { "namespace==bench-floor-scale,topic==\"/tasks/exit\"", "namespace==bench-floor-scale,topic==\"/pscontainerd/sync\"" }, cts.Token))
            {
                if (ev is MarkerEvent)
                {
                    live.TrySetResult();
                }
                else if (exited.TryAdd(ev.ContainerId, true) && exited.Count == scale)
                {
                    all.TrySetResult();
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

    for (int i = 0; i < scale; i++)
    {
        ids.Add(await Raw(client, "sfloor", cooperative));
    }

    var sw = Stopwatch.StartNew();
    await Task.WhenAll(ids.Select(id => client.KillAsync(id, 15, deadline: TimeSpan.FromSeconds(60))));
    await all.Task.WaitAsync(TimeSpan.FromSeconds(120));
    await Task.WhenAll(ids.Select(id => client.DeleteTaskAsync(id, deadline: TimeSpan.FromSeconds(60))));
    sw.Stop();
    cts.Cancel();
    await Task.WhenAll(ids.Select(id => client.DeleteContainerAsync(id)));
    return sw.Elapsed.TotalMilliseconds;
}

async Task<(double Total, List<double> Each)> Scale()
{
    // docs/failure-modes.md row 11: many stops at once, each on its own container, all through one engine.
    var e = ContainerEngine.For(address, "bench-scale");
    var ids = new List<string>();
    for (int i = 0; i < scale; i++)
    {
        ids.Add(await New(e, "scale", cooperative));
    }

    var sw = Stopwatch.StartNew();
    var results = await Task.WhenAll(ids.Select(id => e.StopAsync(id, null, 10, null)));
    sw.Stop();
    if (results.FirstOrDefault(r => r.ExitCode != 0) is { } bad)
    {
        throw new InvalidOperationException($"{results.Count(r => r.ExitCode != 0)} cooperative stops at scale did not exit 0, e.g. {bad.Id}: {bad.ExitCode}, {string.Join("; ", bad.Steps)}");
    }

    await Task.WhenAll(ids.Select(id => e.RemoveAsync(id, force: true)));
    return (sw.Elapsed.TotalMilliseconds, results.Select(r => r.Duration.TotalMilliseconds).ToList());
}

async Task<string> New(ContainerEngine e, string prefix, string[] command)
{
    string id = $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 9)];
    await e.CreateAsync(new NewContainerRequest(id, rootfs, command, Array.Empty<string>(), new Dictionary<string, string>(), null, null, RestartPolicy.No, false, null));
    var info = await e.StartAsync(id);
    await UntilTrapped(info.Pid ?? 0, command);
    return id;
}

async Task<string> Raw(ContainerdClient client, string prefix, string[] command)
{
    string id = $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 9)];
    var req = new NewContainerRequest(id, rootfs, command, Array.Empty<string>(), new Dictionary<string, string>(), null, null, RestartPolicy.No, false, null);
    await client.CreateContainerAsync(new ContainerCreateSpec(id, OciSpecBuilder.Build(req, client.Namespace), new Dictionary<string, string>()));
    await client.CreateTaskAsync(id);
    uint pid = await client.StartTaskAsync(id);
    await UntilTrapped(pid, command);
    return id;
}

// A stop sent before the shell installed its trap would be dropped by the kernel (PID 1 without
// a handler) and measure the grace period instead of the stop: wait for SIGTERM's bit in SigCgt.
static async Task UntilTrapped(uint pid, string[] command)
{
    const ulong term = 1UL << (15 - 1);
    if (pid == 0 || !command.Any(a => a.Contains("trap", StringComparison.Ordinal)))
    {
        return;
    }

    var deadline = DateTime.UtcNow.AddSeconds(10);
    while (DateTime.UtcNow < deadline)
    {
        var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("SigCgt:", StringComparison.Ordinal));
        if (line is null || (Convert.ToUInt64(line[7..].Trim(), 16) & term) != 0)
        {
            return;
        }

        await Task.Delay(5);
    }

    throw new TimeoutException($"pid {pid} never installed its trap");
}

static double Median(List<double> xs) => xs.Order().ElementAt(xs.Count / 2);

static double P90(List<double> xs) => xs.Order().ElementAt(Math.Min(xs.Count - 1, (int)(xs.Count * 0.9)));
