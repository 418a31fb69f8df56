using System.Diagnostics;
using PSContainerd.Engine;

namespace PSContainerd.Bench;

/// <summary>One line of a stop's median timeline: what happened, when (ms after the call), for how long.</summary>
internal sealed record TimelineRow(string What, double StartMs, double? DurationMs);

/// <summary>How many calls of one gRPC method a stop makes, on average.</summary>
internal sealed record RpcCount(string Method, double PerStop);

/// <summary>
/// Where a cooperative stop's time goes: the module's stop traced RPC by RPC (the calls the
/// cmdlet makes on a container its session already knows: ResolveAsync + StopAsync), the exit
/// event as the bench's own subscription saw it, and the stop's own steps.
/// </summary>
internal sealed class Breakdown
{
    public int Stops { get; set; }

    public List<RpcCount> Rpcs { get; set; } = new();

    public List<string> LabelWrites { get; set; } = new();

    public List<TimelineRow> Timeline { get; set; } = new();

    public int KillRpcs { get; set; }

    /// <summary>Of <see cref="Stops"/>, how many returned at containerd's /tasks/delete event, and how many at the Delete reply.</summary>
    public int ConfirmedByEvent { get; set; }

    public int ConfirmedByReply { get; set; }

    /// <summary>The same trace of an escalated stop (-Timeout 1, PID 1 ignores SIGTERM), ms after the grace period ended.</summary>
    public Breakdown? Escalation { get; set; }

    /// <param name="cooperative">False: a PID 1 that ignores SIGTERM stopped with -Timeout 1, its timeline taken from the end of the grace period.</param>
    public static async Task<Breakdown> Measure(BenchContext ctx, RpcTrace trace, Samples samples, int n, bool cooperative = true)
    {
        Console.Error.WriteLine($"==> where the time goes: {n} traced {(cooperative ? "cooperative" : "escalated")} stops");
        var e = ContainerEngine.For(ctx.Address, "bench-engine");
        await using var watch = await ExitWatch.Start(ctx.Address, "bench-engine");
        var stops = new List<(RpcCall[] Calls, long T0, long Event, long T1, DateTime Utc0, StopResult Result)>();
        for (int i = 0; i < n + 1; i++)
        {
            string id = await Runs.EngineCreate(e, ctx.RootFs, cooperative);
            var exit = watch.Expect(id);
            trace.Take();
            trace.Recording = true;
            var utc0 = DateTime.UtcNow;
            long t0 = Stopwatch.GetTimestamp();
            var r = await e.StopAsync(await e.ResolveAsync(id), null, cooperative ? 10 : 1, null);
            long t1 = Stopwatch.GetTimestamp();
            trace.Recording = false;
            var (at, _) = await exit.WaitAsync(TimeSpan.FromSeconds(10));
            watch.Forget(id);
            await e.RemoveAsync(id, force: true);

            // Taken once the removal, queued behind the rest of the task delete, is done: a call is
            // traced when it ends, and the delete may still run when the stop returns.
            var calls = trace.Take().Where(c => c.Namespace == "bench-engine").ToArray();
            if (i > 0)
            {
                // An escalated stop's timeline starts where its grace period ended.
                var origin = cooperative ? utc0 : r.Steps.FirstOrDefault(x => x.Kind == StopStepKind.Timeout)?.At ?? utc0;
                long shift = (long)((origin - utc0).TotalSeconds * Stopwatch.Frequency);
                stops.Add((calls, t0 + shift, at, t1, origin, r));
            }
        }

        var b = new Breakdown
        {
            Stops = stops.Count,
            ConfirmedByEvent = stops.Count(s => s.Result.DeleteConfirmedBy == DeleteConfirmation.Event),
            ConfirmedByReply = stops.Count(s => s.Result.DeleteConfirmedBy == DeleteConfirmation.Reply),
        };
        foreach (var g in stops.SelectMany(s => s.Calls).GroupBy(c => c.Method).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            b.Rpcs.Add(new RpcCount(g.Key, (double)g.Count() / stops.Count));
            foreach (var c in g.Where(_ => cooperative))
            {
                samples.Add("rpc", g.Key, Floor.Ms(c.Start, c.End));
            }
        }

        // The most common sequence of calls stands for a typical stop; each position's median.
        var typical = stops.GroupBy(s => string.Join(",", s.Calls.Select(c => c.Method))).OrderByDescending(g => g.Count()).First().ToList();
        var first = typical[0];
        b.KillRpcs = first.Calls.Count(c => c.Method.EndsWith("/Kill", StringComparison.Ordinal));
        foreach (var c in first.Calls.Where(c => c.UpdatePaths.Length > 0))
        {
            b.LabelWrites.Add(string.Join(", ", c.UpdatePaths.Select(p => p.Replace("labels.", string.Empty, StringComparison.Ordinal))));
        }

        for (int k = 0; k < first.Calls.Length; k++)
        {
            b.Timeline.Add(new TimelineRow(
                first.Calls[k].Method,
                Stats.Median(typical.Select(s => Floor.Ms(s.T0, s.Calls[k].Start)).ToList()),
                Stats.Median(typical.Select(s => Floor.Ms(s.Calls[k].Start, s.Calls[k].End)).ToList())));
        }

        foreach (var (action, route) in first.Result.Steps.Select(s => (s.Action, s.Route)).Distinct())
        {
            var offsets = typical.Select(s => (s.Utc0, Step: s.Result.Steps.FirstOrDefault(x => x.Action == action && x.Route == route))).Where(p => p.Step is not null)
                .Select(p => (p.Step!.At - p.Utc0).TotalMilliseconds).ToList();
            if (offsets.Count > 0)
            {
                b.Timeline.Add(new TimelineRow($"step: {action}{(route == SignalRoute.None ? string.Empty : $" ({route.ToString().ToLowerInvariant()})")}", Stats.Median(offsets), null));
            }
        }

        b.Timeline.Add(new TimelineRow("exit event reaches a subscriber", Stats.Median(typical.Select(s => Floor.Ms(s.T0, s.Event)).ToList()), null));
        b.Timeline.Add(new TimelineRow("StopAsync returns", Stats.Median(typical.Select(s => Floor.Ms(s.T0, s.T1)).ToList()), null));
        b.Timeline.Sort((x, y) => x.StartMs.CompareTo(y.StartMs));
        if (!cooperative)
        {
            b.Timeline.RemoveAll(row => row.StartMs < -0.05); // what happened before the grace period ended
        }

        return b;
    }
}
