using System.Diagnostics;
using PSContainerd.Containerd;
using PSContainerd.Engine;
using Xunit;

namespace PSContainerd.Tests;

/// <summary>
/// Restore-ContainerState's engine side against real containers (docs/failure-modes.md rows 3 and 8). Each
/// test uses a namespace of its own: the engine that started a container is disposed (the session
/// that is gone) and a new one restores (a fresh process).
/// </summary>
[Collection(ContainerdCollection.Name)]
public sealed class RestoreTests
{
    private readonly ContainerdFixture _fx;

    public RestoreTests(ContainerdFixture fx) => _fx = fx;

    /// <summary>What Restore-ContainerState does with no -Id: every container of the namespace, one by one, ordered by id.</summary>
    private static async Task<IReadOnlyList<RestoreResult>> RestoreAllAsync(ContainerEngine engine, bool stopRunning)
    {
        var results = new List<RestoreResult>();
        foreach (var id in await engine.ListIdsAsync())
        {
            results.Add(await engine.RestoreOneAsync(id, stopRunning));
        }

        return results;
    }

    [Fact]
    public async Task Exit_while_nothing_watches_is_recorded_by_a_fresh_engine()
    {
        await using var scratch = new Scratch(_fx, "unwatched");
        var old = scratch.Open();
        string id = await scratch.NewContainerAsync(old, "gone", new[] { "/bin/sh", "-c", "sleep 0.5; exit 3" });
        await old.DisposeAsync();
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
        {
            Assert.Equal(3u, (await scratch.Client.WaitAsync(id, cts.Token)).ExitStatus);
        }

        Assert.Equal(Containerd.TaskStatus.Stopped, (await scratch.Client.GetTaskAsync(id))!.Status);

        var fresh = scratch.Open();
        var r = Assert.Single(await RestoreAllAsync(fresh, stopRunning: false));
        Assert.Equal(id, r.Id);
        Assert.Equal(RestoreAction.RecordedExit, r.Action);
        Assert.Equal("Stopped", r.TaskStatus);
        Assert.Equal(3, r.ExitCode);
        Assert.Null(await scratch.Client.GetTaskAsync(id));
        var labels = (await scratch.Client.GetContainerAsync(id)).Labels;
        Assert.Equal("3", labels[StateLabels.ExitCode]);
        Assert.Equal(StateLabels.StateStopped, labels[StateLabels.State]);
        Assert.Equal(3, (await fresh.WaitAsync(id, WaitCondition.NotRunning, TimeSpan.FromSeconds(1))).ExitCode);

        var again = Assert.Single(await RestoreAllAsync(fresh, stopRunning: false));
        Assert.Equal(RestoreAction.Unchanged, again.Action);
        Assert.Equal(3, again.ExitCode);
    }

    [Theory]
    [InlineData("unless-stopped", false, RestoreAction.Unchanged)]
    [InlineData("always", false, RestoreAction.Unchanged)]
    [InlineData("unless-stopped", true, RestoreAction.Unchanged)]
    [InlineData("always", true, RestoreAction.Restarted)]
    public async Task Restore_after_a_manual_stop_keeps_it_stopped_unless_always_and_the_host_restarted_since(string policy, bool stoppedBeforeBoot, RestoreAction expected)
    {
        await using var scratch = new Scratch(_fx, "manual");
        var old = scratch.Open();
        string id = await scratch.NewContainerAsync(old, "pol", Containers.Cooperative, policy: Containers.Policy(policy));
        Assert.Equal(StopOutcome.Stopped, (await old.StopAsync(id, null, 5, null)).Outcome);
        await old.DisposeAsync();
        // The stop returned at containerd's confirmation of the delete; the delete itself, and the
        // old shim's exit, end on their own. This test is about the restore rule, not a start
        // racing that teardown (StopReturnTests), so both are waited out.
        await Containers.Until(async () => await scratch.Client.GetTaskAsync(id) is null && Containers.ShimPid(scratch.Namespace, id) is null,
            TimeSpan.FromSeconds(15), "the stopped task is deleted and its shim gone");
        if (stoppedBeforeBoot)
        {
            // Stands in for a host restart (which a test cannot cause): the stop recorded before this boot.
            await new LabelStateStore(scratch.Client).Write(id, CancellationToken.None,
                (StateLabels.ExitedAt, StateLabels.FormatTime(HostBoot.Time!.Value.AddMinutes(-5))));
        }

        var fresh = scratch.Open();
        var diagnostics = new System.Collections.Concurrent.ConcurrentQueue<string>();
        fresh.Diagnostic += diagnostics.Enqueue;
        var r = await fresh.RestoreOneAsync(id, stopRunning: false);
        Assert.True(expected == r.Action, $"restore said {r.Action} ({r.Detail}), not {expected}; diagnostics: {string.Join(" | ", diagnostics)}");
        var task = await scratch.Client.GetTaskAsync(id);
        if (expected == RestoreAction.Restarted)
        {
            Assert.Equal(Containerd.TaskStatus.Running, task?.Status);
        }
        else
        {
            Assert.Null(task);
        }

        Assert.Equal(RestoreAction.Unchanged, (await fresh.RestoreOneAsync(id, stopRunning: false)).Action);
    }

    [Fact]
    public async Task A_restart_pending_when_its_process_died_is_carried_out()
    {
        await using var scratch = new Scratch(_fx, "pending");
        // Restore-ContainerState carries it out, not a restart supervisor that takes the duty meanwhile.
        using var idle = await scratch.HoldDutyAsync();
        var old = scratch.Open();
        string id = await scratch.NewContainerAsync(old, "pend", Containers.Cooperative, start: false, policy: Containers.Policy("always"));
        await old.DisposeAsync();
        // What ScheduleAsync leaves behind when its process dies during the backoff.
        await new LabelStateStore(scratch.Client).Write(id, CancellationToken.None,
            (StateLabels.State, StateLabels.StateRestarting),
            (StateLabels.RestartDue, StateLabels.FormatTime(DateTime.UtcNow.AddSeconds(-1))),
            (StateLabels.RestartCount, "1"),
            (StateLabels.ExitCode, "1"),
            (StateLabels.ExitedAt, StateLabels.FormatTime(DateTime.UtcNow.AddSeconds(-2))));

        var fresh = scratch.Open();
        var r = await fresh.RestoreOneAsync(id, stopRunning: false);
        Assert.Equal(RestoreAction.Restarted, r.Action);
        Assert.Equal(Containerd.TaskStatus.Running, (await scratch.Client.GetTaskAsync(id))?.Status);
        var labels = (await scratch.Client.GetContainerAsync(id)).Labels;
        Assert.Equal("2", labels[StateLabels.RestartCount]);
        Assert.Equal(StateLabels.StateRunning, labels[StateLabels.State]);
        Assert.False(labels.ContainsKey(StateLabels.RestartDue));
        Assert.Equal(RestoreAction.Unchanged, (await fresh.RestoreOneAsync(id, stopRunning: false)).Action);
    }

    [Fact]
    public async Task Labels_saying_running_without_a_task_record_255_unknown()
    {
        await using var scratch = new Scratch(_fx, "lost");
        var old = scratch.Open();
        string id = await scratch.NewContainerAsync(old, "lost", Containers.Cooperative, start: false);
        await old.DisposeAsync();
        // A host reboot: the labels still say running, containerd has no task.
        await new LabelStateStore(scratch.Client).Write(id, CancellationToken.None,
            (StateLabels.State, StateLabels.StateRunning),
            (StateLabels.StartedAt, StateLabels.FormatTime(DateTime.UtcNow.AddMinutes(-5))));

        var fresh = scratch.Open();
        var r = await fresh.RestoreOneAsync(id, stopRunning: false);
        Assert.Equal(RestoreAction.RecordedExit, r.Action);
        Assert.Equal("None", r.TaskStatus);
        Assert.Equal(255, r.ExitCode);
        Assert.Contains("unknown", r.Detail);
        var labels = (await scratch.Client.GetContainerAsync(id)).Labels;
        Assert.Equal("255", labels[StateLabels.ExitCode]);
        Assert.Equal(StateLabels.StateStopped, labels[StateLabels.State]);
        Assert.Equal(RestoreAction.Unchanged, (await fresh.RestoreOneAsync(id, stopRunning: false)).Action);
    }

    [Fact]
    public async Task A_container_that_never_ran_stays_Unchanged_run_after_run()
    {
        await using var scratch = new Scratch(_fx, "never");
        var e = scratch.Open();
        string id = await scratch.NewContainerAsync(e, "never", Containers.Cooperative, start: false, policy: Containers.Policy("always"));
        for (int run = 0; run < 2; run++)
        {
            var r = await e.RestoreOneAsync(id, stopRunning: false);
            Assert.Equal(RestoreAction.Unchanged, r.Action);
            Assert.Null(r.ExitCode);
            Assert.Contains("never started", r.Detail);
        }

        Assert.Null(await scratch.Client.GetTaskAsync(id));
    }

    [Fact]
    public async Task Reattach_keeps_a_running_container_running_and_watched()
    {
        await using var scratch = new Scratch(_fx, "reattach");
        var old = scratch.Open();
        string id = await scratch.NewContainerAsync(old, "live", Containers.IgnoresTerm);
        await old.DisposeAsync();

        var fresh = scratch.Open();
        var r = await fresh.RestoreOneAsync(id, stopRunning: false);
        Assert.Equal(RestoreAction.Reattached, r.Action);
        Assert.Equal("Running", r.TaskStatus);
        Assert.Equal(Containerd.TaskStatus.Running, (await scratch.Client.GetTaskAsync(id))?.Status);
        Assert.Equal(RestoreAction.Unchanged, (await fresh.RestoreOneAsync(id, stopRunning: false)).Action);

        // Watched: an exit caused by someone else reaches a waiter of the fresh engine.
        var wait = fresh.WaitAsync(id, WaitCondition.NotRunning, TimeSpan.FromSeconds(10));
        Assert.False(wait.IsCompleted);
        await scratch.Client.KillAsync(id, Signals.SIGKILL);
        Assert.Equal(137, (await wait).ExitCode);
    }

    [Fact]
    public async Task Reattach_keeps_a_paused_container_paused()
    {
        await using var scratch = new Scratch(_fx, "paused");
        var old = scratch.Open();
        string id = await scratch.NewContainerAsync(old, "paused", Containers.Cooperative);
        await old.PauseAsync(id);
        await old.DisposeAsync();

        var fresh = scratch.Open();
        var r = await fresh.RestoreOneAsync(id, stopRunning: false);
        Assert.Equal(RestoreAction.Reattached, r.Action);
        Assert.Equal("Paused", r.TaskStatus);
        Assert.Equal(Containerd.TaskStatus.Paused, (await scratch.Client.GetTaskAsync(id))?.Status);
        Assert.Equal(ContainerStatus.Paused, fresh.StateOf(id).Status);
    }

    [Fact]
    public async Task StopRunning_stops_live_tasks_through_the_stop_flow()
    {
        await using var scratch = new Scratch(_fx, "stoprun");
        var old = scratch.Open();
        string coop = await scratch.NewContainerAsync(old, "coop", Containers.Cooperative);
        string done = await scratch.NewContainerAsync(old, "done", new[] { "/bin/sh", "-c", "exit 4" });
        await old.WaitAsync(done, WaitCondition.NotRunning, TimeSpan.FromSeconds(10));
        await old.DisposeAsync();

        var fresh = scratch.Open();
        var results = await RestoreAllAsync(fresh, stopRunning: true);
        Assert.Equal(2, results.Count);
        var c = results.Single(x => x.Id == coop);
        Assert.Equal(RestoreAction.Stopped, c.Action);
        Assert.Equal(0, c.ExitCode);
        Assert.Null(await scratch.Client.GetTaskAsync(coop));
        Assert.Equal(RestoreAction.Unchanged, results.Single(x => x.Id == done).Action);
        Assert.Equal(4, results.Single(x => x.Id == done).ExitCode);

        Assert.All(await RestoreAllAsync(fresh, stopRunning: true), x => Assert.Equal(RestoreAction.Unchanged, x.Action));
    }

    [Fact]
    public async Task A_stop_whose_process_died_is_resumed_with_SIGKILL_once_its_deadline_passed()
    {
        await using var scratch = new Scratch(_fx, "resume");
        var old = scratch.Open();
        string id = await scratch.NewContainerAsync(old, "resume", Containers.IgnoresTerm);
        await old.DisposeAsync();
        // What StopOperation writes before its first signal, from a process that then died.
        var intent = new RecordedStopIntent(Signals.SIGTERM, 10, DateTime.UtcNow.AddSeconds(-3), Containers.DeadPid());
        await new LabelStateStore(scratch.Client).RecordStopIntentAsync(id, intent);

        var fresh = scratch.Open();
        var sw = Stopwatch.StartNew();
        var r = await fresh.RestoreOneAsync(id, stopRunning: false);
        Assert.Equal(RestoreAction.ResumedStop, r.Action);
        Assert.Equal(137, r.ExitCode);
        Assert.Contains("SIGKILL", r.Detail);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(3), $"took {sw.Elapsed}: the passed deadline was waited out again");
        var labels = (await scratch.Client.GetContainerAsync(id)).Labels;
        Assert.False(labels.ContainsKey(StateLabels.StopIntent));
        Assert.Equal("137", labels[StateLabels.ExitCode]);
        Assert.Equal(RestoreAction.Unchanged, (await fresh.RestoreOneAsync(id, stopRunning: false)).Action);
    }

    [Fact]
    public async Task A_stop_whose_process_died_keeps_the_grace_period_it_had_left()
    {
        await using var scratch = new Scratch(_fx, "grace");
        var old = scratch.Open();
        string id = await scratch.NewContainerAsync(old, "grace", Containers.IgnoresTerm);
        await old.DisposeAsync();
        var intent = new RecordedStopIntent(Signals.SIGTERM, 10, DateTime.UtcNow.AddSeconds(2), Containers.DeadPid());
        await new LabelStateStore(scratch.Client).RecordStopIntentAsync(id, intent);

        var fresh = scratch.Open();
        var sw = Stopwatch.StartNew();
        var r = await fresh.RestoreOneAsync(id, stopRunning: false);
        Assert.Equal(RestoreAction.ResumedStop, r.Action);
        Assert.Equal(137, r.ExitCode);
        Assert.Contains("SIGTERM again", r.Detail);
        Assert.InRange(sw.Elapsed, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task A_stop_by_a_live_process_is_left_to_it()
    {
        await using var scratch = new Scratch(_fx, "owned");
        var old = scratch.Open();
        string id = await scratch.NewContainerAsync(old, "owned", Containers.IgnoresTerm);
        await old.DisposeAsync();
        using var owner = Process.Start(new ProcessStartInfo("sleep", "30"))!;
        try
        {
            await new LabelStateStore(scratch.Client).RecordStopIntentAsync(id, new RecordedStopIntent(Signals.SIGTERM, 10, DateTime.UtcNow.AddSeconds(-1), owner.Id));
            var r = await scratch.Open().RestoreOneAsync(id, stopRunning: false);
            Assert.Equal(RestoreAction.Unchanged, r.Action);
            Assert.Contains(owner.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), r.Detail);
            Assert.Equal(Containerd.TaskStatus.Running, (await scratch.Client.GetTaskAsync(id))?.Status);
        }
        finally
        {
            owner.Kill();
        }
    }

    [Fact]
    public async Task Shim_killed_with_SIGKILL_records_137_or_255_without_hanging()
    {
        string id = await _fx.NewContainerAsync("shim", Containers.IgnoresTerm);
        try
        {
            int shim = Containers.ShimPid(_fx.Namespace, id) ?? throw new InvalidOperationException("no shim found for " + id);
            var wait = _fx.Engine.WaitAsync(id, WaitCondition.NotRunning, TimeSpan.FromSeconds(15));
            Process.GetProcessById(shim).Kill();
            var w = await wait;
            Assert.False(w.TimedOut, "no exit seen within 15 s of the shim's death");
            Assert.Contains(w.ExitCode, new int?[] { 137, 255 });
            await Containers.Until(async () => await _fx.Client.GetTaskAsync(id) is null, TimeSpan.FromSeconds(10), "the task cleaned up");
            var labels = (await _fx.Client.GetContainerAsync(id)).Labels;
            Assert.Contains(labels[StateLabels.ExitCode], new[] { "137", "255" });
        }
        finally
        {
            await _fx.RemoveAsync(id);
        }
    }

    [Fact]
    public async Task Ten_parallel_label_writes_of_different_keys_all_survive()
    {
        await using var scratch = new Scratch(_fx, "labels");
        var e = scratch.Open();
        string id = await scratch.NewContainerAsync(e, "labels", Containers.Cooperative, start: false);
        var store = new LabelStateStore(scratch.Client);
        await Task.WhenAll(Enumerable.Range(0, 10).Select(i => Task.Run(() => store.Write(id, CancellationToken.None, ($"xunit.test/key-{i}", $"value-{i}")))));
        var labels = (await scratch.Client.GetContainerAsync(id)).Labels;
        for (int i = 0; i < 10; i++)
        {
            Assert.Equal($"value-{i}", labels.GetValueOrDefault($"xunit.test/key-{i}"));
        }

        // The module's own writers racing: none erases another's key.
        await Task.WhenAll(
            Task.Run(() => store.RecordOomAsync(id)),
            Task.Run(() => store.RecordManualStopAsync(id)),
            Task.Run(() => store.Write(id, CancellationToken.None, (StateLabels.RestartCount, "7"))),
            Task.Run(() => store.Write(id, CancellationToken.None, (StateLabels.StopTimeout, "3"))));
        labels = (await scratch.Client.GetContainerAsync(id)).Labels;
        Assert.Equal("true", labels[StateLabels.OomKilled]);
        Assert.Equal("true", labels[StateLabels.ManuallyStopped]);
        Assert.Equal("7", labels[StateLabels.RestartCount]);
        Assert.Equal("3", labels[StateLabels.StopTimeout]);
        Assert.Equal("value-9", labels["xunit.test/key-9"]);
    }
}
