using System.Diagnostics;
using PSContainerd.Containerd;
using PSContainerd.Engine;

namespace PSContainerd.Bench;

/// <summary>The outcome of the exit burst: how many exits, how many recorded right, how long, and the engine's memory.</summary>
internal sealed record BurstResult(int Count, int Recorded, int WrongOrLost, double WallMs, double ManagedBytesPerContainer, string? FirstProblem);

/// <summary>
/// Many containers tracked by one engine, all made to exit at once from outside the engine (the
/// client sends every Kill together, as a host-wide kill or an OOM storm would): every exit code
/// must be recorded, by the engine's event loop alone, in the container's labels and to its waiters.
/// </summary>
internal static class Burst
{
    public static async Task<BurstResult> Run(string address, string rootfs, int count)
    {
        const string ns = "bench-burst";
        var client = new ContainerdClient(address, ns);
        var ids = new string[count];
        using (var gate = new SemaphoreSlim(8))
        {
            int made = 0;
            await Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
            {
                await gate.WaitAsync();
                try
                {
                    string id = $"burst-{i:D4}";
                    string[] command = { "/bin/sh", "-c", $"trap 'exit {Expected(i)}' TERM; sleep 100000 & wait" };
                    var req = new NewContainerRequest(id, rootfs, command, Array.Empty<string>(), new Dictionary<string, string>(), null, null, RestartPolicy.No, false, null);
                    // Labelled as New-Container labels its containers: the engine records the exits
                    // of containers the module manages, and only reads those of others.
                    var labels = new Dictionary<string, string> { [StateLabels.RestartPolicy] = RestartPolicy.No.ToString() };
                    await client.CreateContainerAsync(new ContainerCreateSpec(id, OciSpecBuilder.Build(req, ns), labels));
                    await client.CreateTaskAsync(id);
                    await Trap.Wait(await client.StartTaskAsync(id), command);
                    ids[i] = id;
                    if (Interlocked.Increment(ref made) % 100 == 0)
                    {
                        Console.Error.WriteLine($"  burst: {made} of {count} containers running");
                    }
                }
                finally
                {
                    gate.Release();
                }
            }));
        }

        try
        {
            var engine = ContainerEngine.For(address, ns);
            await engine.WhenMonitoringAsync();
            long managedBefore = Managed();
            // A zero timeout loads (tracks) the container and returns: the engine now holds all of them.
            foreach (var id in ids)
            {
                await engine.WaitAsync(id, WaitCondition.NextExit, TimeSpan.Zero);
            }

            // Bounded by far more than a burst needs on a loaded machine: a waiter that times out counts as lost.
            var waits = ids.Select(id => engine.WaitAsync(id, WaitCondition.NotRunning, TimeSpan.FromMinutes(15))).ToArray();
            long managedAfter = Managed();

            // The engine's background failures during the burst (a label write that failed, a
            // delete that timed out): printed, so a lost record says why.
            var events = engine.Events.Subscribe();
            var sw = Stopwatch.StartNew();
            // A Kill cut short by its deadline may still have been delivered: the waiter decides.
            await Task.WhenAll(ids.Select(async id =>
            {
                try
                {
                    await client.KillAsync(id, 15, deadline: TimeSpan.FromSeconds(300));
                }
                catch (ContainerdException e)
                {
                    Console.Error.WriteLine($"  burst: kill {id}: {e.Kind}");
                }
            }));
            var results = await Task.WhenAll(waits);
            sw.Stop();
            engine.Events.Unsubscribe(events);
            var diagnostics = new List<string>();
            while (events.TryRead(out var ev))
            {
                if (ev.Type == EventTypes.Diagnostic)
                {
                    diagnostics.Add($"{ev.Id}: {ev.Attributes.GetValueOrDefault("Message")}");
                }
            }

            Console.Error.WriteLine($"  burst: {diagnostics.Count} engine diagnostic(s){(diagnostics.Count > 0 ? ", first: " : string.Empty)}{string.Join(" | ", diagnostics.Take(3))}");

            int recorded = 0;
            string? problem = null;
            var labels = (await client.ListContainersAsync()).ToDictionary(c => c.Id, c => c.Labels);
            for (int i = 0; i < count; i++)
            {
                string want = Expected(i).ToString();
                string? label = labels.TryGetValue(ids[i], out var l) ? l.GetValueOrDefault(StateLabels.ExitCode) : null;
                if (results[i].ExitCode?.ToString() == want && label == want)
                {
                    recorded++;
                }
                else
                {
                    problem ??= $"{ids[i]}: waiter saw {results[i].ExitCode?.ToString() ?? "none"}{(results[i].TimedOut ? " (timed out)" : string.Empty)}, label {label ?? "none"}, expected {want}";
                }
            }

            return new BurstResult(count, recorded, count - recorded, sw.Elapsed.TotalMilliseconds,
                (double)(managedAfter - managedBefore) / count, problem);
        }
        finally
        {
            using var gate = new SemaphoreSlim(8);
            await Task.WhenAll(ids.Where(i => i is not null).Select(async id =>
            {
                await gate.WaitAsync();
                try
                {
                    await Floor.RemoveWith(client, id);
                }
                finally
                {
                    gate.Release();
                }
            }));
        }
    }

    private static int Expected(int i) => 1 + (i % 200);

    private static long Managed()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}
