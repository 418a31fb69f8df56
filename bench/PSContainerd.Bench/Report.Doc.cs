using System.Globalization;
using System.Text;

namespace PSContainerd.Bench;

internal sealed partial class Report
{
    private sealed record Target(bool Met, string Text, string Figure);

    private IEnumerable<Target> Targets()
    {
        if (_b is { } t)
        {
            yield return new Target(t.KillRpcs == 0, "stop signal through the init process's pidfd, not the Kill RPC",
                t.KillRpcs == 0 ? "no Tasks/Kill on a cooperative stop" : $"{t.KillRpcs} Tasks/Kill RPC per cooperative stop (runc kill behind each)");
            double updates = t.Rpcs.FirstOrDefault(r => r.Method.EndsWith("Containers/Update", StringComparison.Ordinal))?.PerStop ?? 0;
            double gets = t.Rpcs.Where(r => r.Method.EndsWith("/Get", StringComparison.Ordinal)).Sum(r => r.PerStop);
            // The one Get is the check that the record is still the run's (a container removed and
            // created again since is not written on), made when the pidfd reports the exit, while
            // containerd's exit status is on its way: off the stop's path, which the timeline shows.
            var get = t.Timeline.FirstOrDefault(r => r.What.EndsWith("Containers/Get", StringComparison.Ordinal));
            var wait = t.Timeline.FirstOrDefault(r => r.What.EndsWith("Tasks/Wait", StringComparison.Ordinal));
            bool offPath = get is { DurationMs: double gd } && wait is { DurationMs: double wd } && get.StartMs + gd <= wait.StartMs + wd;
            yield return new Target(updates <= 2 && gets <= 1.05 && offPath, "two label writes per stop (intent, exit), and the one record read (the recreate check) off the stop's path: done before containerd reports the exit status",
                $"{updates:0.#} Containers/Update and {gets:0.#} Get per stop; the Get {(get is null ? "not seen" : $"at {F(get.StartMs)}–{F(get.StartMs + (get.DurationMs ?? 0))} ms")}, the exit status (Tasks/Wait's answer) at {(wait is null ? "?" : F(wait.StartMs + (wait.DurationMs ?? 0)))} ms");
            var delete = t.Timeline.LastOrDefault(r => r.What.EndsWith("Tasks/Delete", StringComparison.Ordinal));
            var returned = t.Timeline.FirstOrDefault(r => r.What == "StopAsync returns");
            if (delete is { DurationMs: double d } && returned is not null)
            {
                double before = delete.StartMs + d - returned.StartMs;
                yield return new Target(t.ConfirmedByEvent + t.ConfirmedByReply == t.Stops && before >= 0,
                    "the StopResult returned at containerd's confirmation of the task delete (its /tasks/delete event or the Delete reply, whichever first), the rest of the delete on the container's queue",
                    $"the call returns {F(before)} ms before the Tasks/Delete reply (of {F(returned.StartMs)} ms in all); {t.ConfirmedByEvent} of {t.Stops} traced stops returned at the event, {t.ConfirmedByReply} at the reply");
            }
        }

        if (Med("overrun", Runs.Warm) is double over)
        {
            yield return new Target(over <= 25, "Stop-Container -Timeout 1 returns ≤ 25 ms after the grace period",
                $"{F(over)} ms (dockerd {(Med("overrun", Runs.DockerApi) is double d ? F(d) + " ms" : "not measured")})");
        }

        if (Ratio("stop", Runs.Warm, Runs.Floor) is double rf)
        {
            double? rd = Ratio("stop", Runs.Warm, Runs.DockerApi);
            yield return new Target(rf <= 0.7 && rd is <= 0.5, "cooperative stop ≤ 0.7× the floor and ≤ 0.5× dockerd",
                $"{F(Med("stop", Runs.Warm)!.Value)} ms: {X(rf)} the floor, {X(rd)} dockerd");
        }

        foreach (var sys in new[] { Runs.BulkDefault, Runs.Bulk100 })
        {
            if (Ratio("bulk", sys, Runs.Floor) is double bf)
            {
                yield return new Target(bf <= 0.8, $"{_o.Bulk} at once ({sys}) ≤ 0.8× the floor",
                    $"{F(Med("bulk", sys)!.Value)} ms: {X(bf)} the floor, {X(Ratio("bulk", sys, Runs.DockerApi))} dockerd");
            }
        }

        foreach (var (module, bare, which) in ColdPairs())
        {
            yield return new Target(module - bare <= 200, $"cold pwsh -c 'Import-Module; Get-Container' ≤ +200 ms over a bare pwsh ({which})", $"{Signed(module - bare)} ms");
            yield return new Target(module - bare <= 150, $"stretch: the same ≤ +150 ms ({which})", $"{Signed(module - bare)} ms");
        }

        if (_burst is { } b)
        {
            yield return new Target(b.WrongOrLost == 0, $"{b.Count} exits in a burst through one engine, every exit code recorded",
                $"{b.Recorded} of {b.Count} recorded, {b.WrongOrLost} lost or wrong; {b.ManagedBytesPerContainer / 1024:0.0} KiB managed memory per tracked container");
        }
    }

    /// <summary>
    /// The cold start's cost over a bare start, for each PowerShell measured: the one the bench runs
    /// in (the dotnet tool's, IL only) and, when bench.ps1 made one, the same precompiled as
    /// PowerShell's release packages are.
    /// </summary>
    private IEnumerable<(double Module, double Bare, string Which)> ColdPairs()
    {
        if (Med("cold", Runs.ModulePwshPrecompiled) is double pm && Med("cold", Runs.BarePwshPrecompiled) is double pb)
        {
            yield return (pm, pb, "PowerShell precompiled, as its packages ship it");
        }

        if (Med("cold", Runs.ModulePwsh) is double mod && Med("cold", Runs.BarePwsh) is double bare)
        {
            yield return (mod, bare, "the dotnet tool's PowerShell, IL only, its every first call JIT-compiled");
        }
    }

    /// <summary>Each cold-start lever and its effect in this run, from the rows that undo one lever each.</summary>
    private IEnumerable<(string Lever, string Effect)> Levers()
    {
        if (Med("cold", Runs.ModulePwsh) is double mod)
        {
            if (Med("cold", Runs.NoWarmUp) is double none)
            {
                yield return ("a Version call to the default socket started in the background at import", $"{Signed(mod - none)} ms");
            }

            if (Med("cold", Runs.NoCrossModule) is double plain)
            {
                yield return ("crossgen's cross-module inlining (`--opt-cross-module:*`)", $"{Signed(mod - plain)} ms");
            }
        }

        if (Med("hash", Runs.HashManaged) is double managed && Med("hash", Runs.HashSha) is double sha)
        {
            yield return ("a managed SHA-256 for lock names instead of `SHA256.HashData` (no OpenSSL loaded)", $"{Signed(managed - sha)} ms at the first hash ({F(sha)} → {F(managed)} ms)");
        }
    }

    public async Task WriteDoc(string path)
    {
        string dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        string png = Path.Combine(dir, "performance.png");
        bool chart = await Chart.Draw(_s, png, _o.Bulk);
        var md = new StringBuilder();
        void L(string line = "") => md.Append(line).Append('\n');
        L("# Performance");
        L();
        L("<!-- Written by `dotnet pwsh ./build.ps1 -Task Bench`; edit bench/PSContainerd.Bench/Report.Doc.cs, not this page. -->");
        L();
        L($"Taken {_m.TakenAt:yyyy-MM-dd HH:mm} UTC on {_m.Summary}. Load average {_m.LoadAtStart} at the start and {_m.LoadAtEnd} at the end");
        L("(1, 5, 15 min): a load near or above the core count at the start means other work shared the machine and every figure is slower and noisier than on a quiet one."
            + (_o.Burst > 0 ? $" The exit burst runs last and loads the machine by itself ({_o.Burst} containers): it alone makes the figure at the end high." : string.Empty));
        L();
        L("Versions: " + string.Join(", ", _m.Versions.Select(v => $"{v.Name} `{v.Version}`")) + ".");
        L();
        L("Every system runs on one private containerd started for the run (dockerd is started by the bench against it, with roots of its own; podman has its own storage and runs runc through conmon). The samples are interleaved: each round takes one sample of every system, in an order rotated from round to round, so a noisy moment costs every system alike. Medians, with the smallest and largest sample; ratios are of medians.");
        L();
        if (chart)
        {
            L("![Stop latency per system, and bulk wall time](performance.png)");
            L();
        }

        L("## Targets");
        L();
        foreach (var t in Targets())
        {
            L($"- **{(t.Met ? "met" : "not met")}**: {t.Text}: {t.Figure}.");
        }

        foreach (var (key, title, unit) in Figures)
        {
            L();
            L($"## {title}");
            L();
            L(Explain(key));
            L();
            L($"| system | n | median ({unit}) | min–max | × floor | × dockerd |");
            L("|---|---:|---:|---:|---:|---:|");
            foreach (var r in Rows(key))
            {
                L($"| {r[0]} | {r[1]} | {r[2]} | {r[3]} | {r[4]} | {r[5]} |");
            }

            foreach (var f in FailureNotes(key))
            {
                L();
                L($"Not in the median: {f}.");
            }
        }

        foreach (var (module, bare, which) in ColdPairs())
        {
            L();
            L($"Importing the module and making the first call costs **{Signed(module - bare)} ms** over a bare `pwsh` start ({which}).");
        }

        var levers = Levers().ToList();
        if (levers.Count > 0)
        {
            L();
            L("## Cold-start levers");
            L();
            L("Each lever's effect is measured in this run: the cold row with the lever undone, less the cold row as shipped (medians; negative is faster with the lever).");
            L();
            foreach (var (lever, effect) in levers)
            {
                L($"- {lever}: **{effect}**.");
            }
        }

        if (_burst is { } b)
        {
            L();
            L($"## {b.Count} exits in a burst through one engine");
            L();
            L($"{b.Count} containers, each a shell that exits with its own code (1–200) on SIGTERM, tracked by one engine; the client then sends every Kill at once, from outside the engine, which records the exits from its event stream alone. **{b.Recorded} of {b.Count}** exit codes were recorded right (in the labels and to a waiter), {b.WrongOrLost} wrong or lost{(b.FirstProblem is null ? string.Empty : $" (first: {b.FirstProblem})")}; {F(b.WallMs / 1000)} s from the first kill to the last exit recorded. The engine's memory per tracked container: **{b.ManagedBytesPerContainer / 1024:0.0} KiB** managed heap.");
        }

        WhereTheTimeGoes(L);
        await File.WriteAllTextAsync(path, md.ToString());
        Console.Error.WriteLine($"wrote {path}{(chart ? $" and {png}" : " (no chart: gnuplot is missing)")}");
    }

    private string Explain(string key) => key switch
    {
        "stop" => "A shell as PID 1 that exits 0 on SIGTERM (its trap checked in before each stop), stopped with a 10 s grace period; the whole call is timed. The floor is the containerd client alone (Tasks/Kill, the /tasks/exit event, Tasks/Delete); *signal by pidfd* is the same with the signal sent by `pidfd_send_signal` instead of the Kill RPC. The engine row is the module's engine called in-process; the warm session is `Stop-Container` in a pwsh that imported the module once; the cold row is a new `pwsh -c 'Import-Module …; Stop-Container …'` per stop. dockerd is timed through its API (`POST /containers/ID/stop`) and through `docker stop`; podman and ctr through their CLIs (ctr has no stop: `ctr task kill`, then `ctr task rm` retried until the task has exited).",
        "overrun" => "`/bin/sleep 1000` as PID 1 (no handler: the kernel drops SIGTERM) with a 1 s grace period: the whole call's duration less 1000 ms, so the SIGKILL RPC, the exit and the task delete.",
        "bulk" => $"{_o.Bulk} cooperative containers stopped at once: the floor sends every Kill together and deletes every task; `Stop-Container -Id $ids` with its default `-ThrottleLimit` and with `-ThrottleLimit {_o.Bulk}`; dockerd gets {_o.Bulk} concurrent API requests; podman one `podman stop` with every name.",
        "cold" => "`pwsh -NoProfile -NonInteractive -c …` from process start to exit, PowerShell's own executable run directly (not `dotnet pwsh`, whose tool lookup adds as much to every row). Each row keeps its own startup profile and module analysis cache (`XDG_CACHE_HOME`), so no row starts from a profile another row's script recorded; the first round is a warm-up that records it. *No warm-up at import* gives `-Address` and points `CONTAINERD_ADDRESS` at no socket, so the import warms nothing; *no cross-module inlining* is a build of the module without crossgen's `--opt-cross-module:*`. The rows marked *PowerShell precompiled* run a copy of the same PowerShell whose assemblies bench.ps1 compiled ahead of time with crossgen2 (ReadyToRun), as PowerShell's release packages ship them; the dotnet tool's PowerShell is IL only, so every method PowerShell runs at a start is JIT-compiled first, its own included, and its rows are slower by far.",
        "hash" => "The first hash of a lock-file name in a fresh process (the module hashes one at an engine's first call): .NET's `SHA256.HashData`, which loads OpenSSL on its first use, against the module's managed SHA-256 (same digest), from its precompiled assembly.",
        _ => string.Empty,
    };
}
