using PSContainerd.Containerd;

namespace PSContainerd.Engine;

/// <summary>
/// Restarts containers by policy while an engine runs (moby restartmanager): backoff from 100 ms,
/// doubling, capped at 1 min, reset once a run lasted 10 s; a manual stop cancels the policy
/// until the next Start-Container; on-failure counts restarts against its N.
/// </summary>
internal sealed class RestartManager
{
    public static readonly TimeSpan InitialBackoff = TimeSpan.FromMilliseconds(100);
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromMinutes(1);
    public static readonly TimeSpan ResetAfter = TimeSpan.FromSeconds(10);

    private readonly ContainerEngine _engine;

    public RestartManager(ContainerEngine engine) => _engine = engine;

    public static RestartPolicy PolicyOf(IReadOnlyDictionary<string, string> labels) =>
        RestartPolicy.TryParse(labels.Get(StateLabels.RestartPolicy), out var p) ? p : RestartPolicy.No;

    public static bool IsManuallyStopped(IReadOnlyDictionary<string, string> labels) => labels.Get(StateLabels.ManuallyStopped) == "true";

    public bool ShouldRestart(ContainerState s, RecordedExit exit)
    {
        var labels = s.Labels;
        int count = StateLabels.ParseInt(labels.Get(StateLabels.RestartCount)) ?? 0;
        return PolicyOf(labels).ShouldRestart(exit.ExitCode ?? 255, s.ManuallyStopped || IsManuallyStopped(labels), count);
    }

    /// <summary>The rule for a container that exited while no engine watched it (see <see cref="RestartPolicy.ShouldRestartOnRestore"/>).</summary>
    public bool ShouldRestartOnRestore(ContainerState s, RecordedExit exit)
    {
        var labels = s.Labels;
        int count = StateLabels.ParseInt(labels.Get(StateLabels.RestartCount)) ?? 0;
        return PolicyOf(labels).ShouldRestartOnRestore(exit.ExitCode ?? 255, s.ManuallyStopped || IsManuallyStopped(labels), count);
    }

    /// <summary>
    /// A restart decided by restore, at once and without backoff. With <paramref name="resetCount"/>
    /// it is a fresh start (count 0, manual stop cleared): moby's restore starts containers with a
    /// reset restart manager (containerStart(..., resetRestartManager: true)). Without it, it is
    /// the restart a dead process had pending: counted like any policy restart. On the container's queue.
    /// </summary>
    public async Task<bool> RestartNowAsync(ContainerState s, string source, bool resetCount)
    {
        s.CancelPendingRestart();
        s.RestartBackoff = TimeSpan.Zero;
        try
        {
            int count = resetCount ? 0 : (StateLabels.ParseInt(s.Labels.Get(StateLabels.RestartCount)) ?? 0) + 1;
            await _engine.StartTaskAsync(s, manual: resetCount, restartCount: count).ConfigureAwait(false);
            _engine.Events.Publish(_engine.Namespace, s.Id, "Restart", null, ("RestartCount", count.ToString(System.Globalization.CultureInfo.InvariantCulture)), ("Source", source));
            return true;
        }
        catch (ContainerdException e)
        {
            _engine.Log($"{s.Id}: restart by {source} failed: {e.Message}");
            s.SetNotRunning(ContainerStatus.Stopped, s.LastExit);
            return false;
        }
    }

    /// <summary>moby's timeout rule: reset after a long run, else start at 100 ms and double, capped.</summary>
    public static TimeSpan NextBackoff(TimeSpan previous, TimeSpan ranFor)
    {
        if (ranFor >= ResetAfter || previous <= TimeSpan.Zero)
        {
            return InitialBackoff;
        }

        var next = TimeSpan.FromTicks(previous.Ticks * 2);
        return next > MaxBackoff ? MaxBackoff : next;
    }

    /// <summary>Enters Restarting and restarts after the backoff unless a stop cancels it first.</summary>
    public async Task ScheduleAsync(ContainerState s, RecordedExit exit)
    {
        var ranFor = s.StartedAt is DateTime started && exit.ExitedAt is DateTime ended ? ended - started : TimeSpan.Zero;
        s.RestartBackoff = NextBackoff(s.RestartBackoff, ranFor);
        var due = DateTime.UtcNow + s.RestartBackoff;
        var cts = new CancellationTokenSource();
        lock (s.Gate)
        {
            s.PendingRestart?.Cancel();
            s.PendingRestart = cts;
        }

        try
        {
            s.Labels = (await _engine.StateStore.RecordRestartingAsync(s.Id, due).ConfigureAwait(false)).Labels;
        }
        catch (ContainerdException e)
        {
            _engine.Log($"{s.Id}: could not record pending restart: {e.Message}");
        }

        _engine.Events.Publish(_engine.Namespace, s.Id, "Restarting", null, ("Backoff", $"{s.RestartBackoff.TotalMilliseconds:0} ms"));
        _ = WaitThenRestartAsync(s, due, cts);
    }

    /// <summary>Restarts a container whose recorded restart is due (also used by restore).</summary>
    public Task RestartWhenDue(ContainerState s, DateTime due)
    {
        var cts = new CancellationTokenSource();
        lock (s.Gate)
        {
            s.PendingRestart?.Cancel();
            s.PendingRestart = cts;
        }

        return WaitThenRestartAsync(s, due, cts);
    }

    /// <summary>Cancels a pending restart, leaving the container stopped; no signal is sent.</summary>
    public async Task CancelAsync(ContainerState s)
    {
        s.CancelPendingRestart();
        s.ManuallyStopped = true;
        try
        {
            s.Labels = (await _engine.StateStore.Write(s.Id, CancellationToken.None,
                (StateLabels.ManuallyStopped, "true"),
                (StateLabels.ContainerdExplicitlyStopped, "true"),
                (StateLabels.RestartDue, null),
                (StateLabels.State, StateLabels.StateStopped)).ConfigureAwait(false)).Labels;
        }
        catch (ContainerdException e)
        {
            _engine.Log($"{s.Id}: could not record the cancelled restart: {e.Message}");
        }

        s.SetNotRunning(ContainerStatus.Stopped, s.LastExit);
    }

    private async Task WaitThenRestartAsync(ContainerState s, DateTime due, CancellationTokenSource cts)
    {
        try
        {
            var left = due - DateTime.UtcNow;
            if (left > TimeSpan.Zero)
            {
                await Task.Delay(left, cts.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            return;
        }

        await s.Enqueue(async () =>
        {
            lock (s.Gate)
            {
                if (cts.IsCancellationRequested || s.PendingRestart != cts)
                {
                    return;
                }

                s.PendingRestart = null;
            }

            if (s.ManuallyStopped)
            {
                // A stop came between the exit and now (it marks the state before anything else).
                await CancelAsync(s).ConfigureAwait(false);
                return;
            }

            int count = (StateLabels.ParseInt(s.Labels.Get(StateLabels.RestartCount)) ?? 0) + 1;
            try
            {
                await _engine.StartTaskAsync(s, manual: false, restartCount: count).ConfigureAwait(false);
                _engine.Events.Publish(_engine.Namespace, s.Id, "Restart", null, ("RestartCount", count.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            }
            catch (ContainerdException e)
            {
                _engine.Log($"{s.Id}: restart failed: {e.Message}");
                s.SetNotRunning(ContainerStatus.Stopped, s.LastExit);
            }
        }).ConfigureAwait(false);
    }
}
