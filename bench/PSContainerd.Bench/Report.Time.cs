namespace PSContainerd.Bench;

internal sealed partial class Report
{
    private void WhereTheTimeGoes(Action<string> L)
    {
        L("");
        L("## Where the time goes");
        L("");
        double? kill = _s.Median("phase:signal", Runs.Floor);
        double? killToExit = _s.Median("phase:signal-to-event", Runs.Floor);
        double? pidfdToExit = _s.Median("phase:signal-to-event", Runs.FloorPidfd);
        double? delete = _s.Median("phase:delete", Runs.Floor);
        double? update = _s.Median("rpc", "Containers/Update");
        L("The parts of a stop, each timed on its own (medians, ms):");
        L("");
        L("| step | ms |");
        L("|---|---:|");
        L($"| a label write (`Containers/Update`, as the engine makes it) | {Opt(update)} |");
        L($"| the Kill RPC (containerd asks the shim, the shim runs `runc kill`) | {Opt(kill)} |");
        L($"| Kill RPC sent → the exit event reaches a client | {Opt(killToExit)} |");
        L($"| `pidfd_send_signal` to the init process → the exit event reaches a client | {Opt(pidfdToExit)} |");
        L($"| `Tasks/Delete` (the shim tears the task down) | {Opt(delete)} |");
        if (_b is not { } t)
        {
            L("");
            L("(The RPC trace was not taken in this run.)");
            return;
        }

        L("");
        L($"A cooperative stop through the module, traced call by call (the median of {t.Stops} stops of a container the engine already tracks; what `Stop-Container` runs in a warm session; ms after the call began). The trace is taken from the bench's side: the bench hands the module a gRPC channel whose HTTP handler records every call; the module's code is unchanged.");
        L("");
        L("| at (ms) | what | took (ms) |");
        L("|---:|---|---:|");
        foreach (var row in t.Timeline)
        {
            L($"| {F(row.StartMs)} | {row.What} | {(row.DurationMs is double d ? F(d) : string.Empty)} |");
        }

        L("");
        L($"RPCs per stop: {string.Join(", ", t.Rpcs.Select(r => $"`{r.Method}` {r.PerStop:0.#}"))}. Label writes per stop: {t.LabelWrites.Count}" + (t.LabelWrites.Count > 0 ? $" ({string.Join("; ", t.LabelWrites.Select(w => $"`{w}`"))})." : "."));
        if (t.Escalation is { } x)
        {
            L("");
            L($"An escalated stop (`-Timeout 1`, PID 1 ignores SIGTERM) traced the same way, from the end of its grace period (the median of {x.Stops} stops; ms after the grace period ended):");
            L("");
            L("| at (ms) | what | took (ms) |");
            L("|---:|---|---:|");
            foreach (var row in x.Timeline)
            {
                L($"| {F(row.StartMs)} | {row.What} | {(row.DurationMs is double d ? F(d) : string.Empty)} |");
            }

            L("");
            L($"RPCs per escalated stop: {string.Join(", ", x.Rpcs.Select(r => $"`{r.Method}` {r.PerStop:0.#}"))}.");
        }

        L("");
        L("### What would make it faster");
        L("");
        if (killToExit is double ke && pidfdToExit is double pe && t.KillRpcs > 0)
        {
            L($"- **Signal through the pidfd.** The stop signal through the Kill RPC reaches the exit {F(ke)} ms after it is sent; `pidfd_send_signal` to the verified init process reaches it in {F(pe)} ms: {F(ke - pe)} ms off every stop, and the grace period then starts at the real delivery. Keep Kill as the fallback (no pidfd, or verification failed) and Kill(all) after SIGKILL for the rest of the cgroup.");
        }

        if (update is double u)
        {
            int writes = t.LabelWrites.Count;
            L($"- **Fewer label writes.** {writes} `Containers/Update` per stop at {F(u)} ms each{(writes > 2 ? $"; the stop intent and the manual flag fit in one write and the exit fields in another, {writes - 2} fewer" : string.Empty)}. The intent write stays before the signal: a process that exits at once on its stop signal could otherwise have its exit decided by the restart supervisor (another process, reading the labels) before the manual-stop flag lands, and be restarted.");
        }

        if (delete is double del)
        {
            L($"- **Return once the exit is recorded.** The task delete ({F(del)} ms, the shim's teardown) runs before the call returns. Queued behind the exit record on the container's queue, it would come off the caller's time; any later operation on the container would wait for it, and the process exit would flush it (bounded). The root folder is not the task's and reads the same either way, but the shim finishes copying the process's output into a `-LogPath` log and closes it at the delete, and releases the task's mounts and cgroup: a runbook that reads the log right after a stop expects it complete, as after `docker stop` (dockerd deletes the task before it answers), so the delete stays before the return by default (docs/architecture.md); an early return fits a switch.");
        }

        double waits = t.Rpcs.Where(r => r.Method.EndsWith("Tasks/Wait", StringComparison.Ordinal)).Sum(r => r.PerStop);
        if (waits > 0)
        {
            L($"- **Exit sources.** Each stop opens {waits:0.#} `Tasks/Wait` call(s) next to the event stream and the pidfd; off the critical path, but one more stream per stop on containerd at scale.");
        }
    }

    private static string Opt(double? v) => v is double d ? F(d) : "not measured";
}
