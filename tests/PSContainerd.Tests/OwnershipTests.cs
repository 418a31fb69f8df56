using System.Diagnostics;
using PSContainerd.Engine;
using Xunit;
using Xunit.Abstractions;

namespace PSContainerd.Tests;

/// <summary>
/// Who may change what (docs/architecture.md, "Ownership"): one restart supervisor per (socket,
/// namespace), every transition on the container's queue, decisions from the labels as recorded.
/// Against the real containerd; "another session" is a second engine (ContainerEngine.CreateUnshared).
/// </summary>
[Collection(ContainerdCollection.Name)]
public sealed class OwnershipTests
{
    private static readonly string[] FailsSoon = { "/bin/sh", "-c", "sleep 0.3; exit 1" };

    private readonly ContainerdFixture _fx;
    private readonly ITestOutputHelper _out;

    public OwnershipTests(ContainerdFixture fx, ITestOutputHelper output)
    {
        _fx = fx;
        _out = output;
    }

    private ContainerEngine Engine => _fx.Engine;

    [Fact]
    public async Task A_manual_stop_by_another_session_is_never_undone_by_the_supervisor()
    {
        await Containers.Until(() => Task.FromResult(Engine.IsSupervisor), TimeSpan.FromSeconds(5), "the fixture's engine holds the duty");
        await using var c = await TestContainer.StartAsync(_fx, "e1", Containers.IgnoresTerm, Containers.Policy("always"));
        await using var other = ContainerEngine.CreateUnshared(_fx.Address, _fx.Namespace);
        Assert.False(other.IsSupervisor);

        var r = await other.StopAsync(c.Id, null, 5, null);
        Assert.Equal(StopOutcome.Stopped, r.Outcome);
        await Containers.AssertNoTask(_fx.Client, c.Id, TimeSpan.FromSeconds(2), "the supervisor restarted a container another session stopped by hand");
        var info = await Engine.GetInfoAsync(c.Id);
        Assert.Equal(ContainerStatus.Stopped, info.Status);
        Assert.Equal(0, info.RestartCount);
        Assert.Equal(ContainerStatus.Stopped, Engine.StateOf(c.Id).Status);
    }

    [Fact]
    public async Task An_engine_that_is_not_the_supervisor_records_exits_but_never_restarts()
    {
        await using var scratch = new Scratch(_fx, "e1b");
        var (_, second) = await scratch.OpenHolderAndOtherAsync();
        var events = second.Events.Subscribe();
        await using var c = await TestContainer.StartAsync(second, _fx.RootFs, "rec", FailsSoon, Containers.Policy("always"));
        // The second engine records every exit; the restarts it sees are the holder's.
        var seen = await Containers.Collect(events, c.Id, l => l.Count(e => e.Type == EventTypes.Exit) >= 2, TimeSpan.FromSeconds(20));
        Assert.DoesNotContain(seen, e => e.Type is EventTypes.Restart or EventTypes.Restarting);
        Assert.True(RecordedState.Of((await scratch.Client.GetContainerAsync(c.Id)).Labels).RestartCount >= 1, "nobody restarted it");
        second.Events.Unsubscribe(events);
    }

    [Fact]
    public async Task A_stop_landing_while_a_restart_is_in_flight_leaves_the_container_stopped()
    {
        // The restart's start and the stop's decision used to run off the container's queue:
        // 4 of 8 stops at 10-90 ms after the backoff returned RestartCancelled with the container running.
        for (int delayMs = 0; delayMs <= 90; delayMs += 15)
        {
            var events = Engine.Events.Subscribe();
            await using var c = await TestContainer.StartAsync(_fx, "e2", FailsSoon, Containers.Policy("always"));
            await Containers.Collect(events, c.Id, l => l.Any(e => e.Type == EventTypes.Restarting), TimeSpan.FromSeconds(10));
            Engine.Events.Unsubscribe(events);
            await Task.Delay(RestartManager.InitialBackoff + TimeSpan.FromMilliseconds(delayMs));
            var r = await Engine.StopAsync(c.Id, null, 2, null);
            _out.WriteLine($"{delayMs} ms: {r.Outcome} {string.Join(" | ", r.Steps)}");
            await Containers.AssertNoTask(_fx.Client, c.Id, TimeSpan.FromSeconds(1), $"stop at {delayMs} ms after the backoff answered {r.Outcome}");
            Assert.Equal(ContainerStatus.Stopped, Engine.StateOf(c.Id).Status);
        }
    }

    [Fact]
    public async Task Chaos_seed_6_a_stop_by_another_process_while_the_supervisor_restarts_never_answers_RestartCancelled_with_the_restart_going_on()
    {
        // The supervisor read the labels (no manual stop), then spent time before its task create
        // (0.6 s in a loaded CI run); a stop in another process recorded the manual stop, saw no
        // task, answered RestartCancelled, and the restart went on. The pause below holds that
        // window open for 2 s, or until the stop returns.
        await using var scratch = new Scratch(_fx, "seed6");
        var (holder, other) = await scratch.OpenHolderAndOtherAsync();

        var paused = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task<StopResult>? stop = null;
        holder.Restarts.PauseBeforeStart = async _ =>
        {
            paused.TrySetResult();
            await Task.WhenAny(Task.Delay(TimeSpan.FromSeconds(2)), Volatile.Read(ref stop) ?? Task.Delay(TimeSpan.FromSeconds(2)));
        };

        string id = await scratch.NewContainerAsync(other, "seed6", FailsSoon, policy: Containers.Policy("always"));
        await paused.Task.WaitAsync(TimeSpan.FromSeconds(15));
        var begun = other.StopAsync(id, null, 2, null);
        Volatile.Write(ref stop, begun);
        var r = await begun.WaitAsync(TimeSpan.FromSeconds(30));
        holder.Restarts.PauseBeforeStart = null;
        _out.WriteLine($"{r.Outcome}\n{string.Join("\n", r.Steps)}");
        Assert.True(r.Outcome is StopOutcome.Stopped or StopOutcome.RestartCancelled, $"{r.Outcome}: {r.Error}");

        await Containers.AssertNoTask(scratch.Client, id, TimeSpan.FromSeconds(3), $"the stop answered {r.Outcome}, yet the restart went on");
        Assert.True(RecordedState.Of((await scratch.Client.GetContainerAsync(id)).Labels).ManuallyStopped, "the manual stop is recorded");
    }

    [Fact]
    public async Task Chaos_seed_20261204_a_policy_restart_falling_due_after_another_session_carried_it_out_leaves_the_container_running()
    {
        // An on-failure:1 container exits 1; the holder schedules its restart; a Restore in another
        // session carries that restart out first (restart count 1). When the holder's restart fell
        // due it read the policy as spent and cancelled: the labels said stopped by hand while the
        // task ran. The pause below holds the holder's restart until the Restore is done.
        await using var scratch = new Scratch(_fx, "s1204");
        var (holder, other) = await scratch.OpenHolderAndOtherAsync();
        var due = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        holder.Restarts.PauseBeforeLook = async _ =>
        {
            due.TrySetResult();
            await gate.Task.WaitAsync(TimeSpan.FromSeconds(30));
        };

        // Fails once (exit 1 after 0.3 s), then runs: the marker file is this test's own.
        string marker = $"/tmp/s1204-{Guid.NewGuid():N}";
        string[] failsOnce = { "/bin/sh", "-c", $"mkdir -p /tmp; if [ -e {marker} ]; then exec sleep 1000; fi; touch {marker}; sleep 0.3; exit 1" };
        string id = await scratch.NewContainerAsync(other, "s1204", failsOnce, policy: Containers.Policy("on-failure:1"));
        try
        {
            await due.Task.WaitAsync(TimeSpan.FromSeconds(15));
            var restored = await other.RestoreOneAsync(id, stopRunning: false).WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(RestoreAction.Restarted, restored.Action);
        }
        finally
        {
            gate.TrySetResult();
        }

        await holder.StateOf(id).Enqueue(() => Task.CompletedTask).WaitAsync(TimeSpan.FromSeconds(30)); // the holder's restart has looked
        holder.Restarts.PauseBeforeLook = null;
        Assert.Equal(Containerd.TaskStatus.Running, (await scratch.Client.GetTaskAsync(id))?.Status);
        var labels = (await scratch.Client.GetContainerAsync(id)).Labels;
        Assert.False(RecordedState.Of(labels).ManuallyStopped, "the holder recorded a manual stop of a container that runs");
        Assert.Equal(StateLabels.StateRunning, labels[StateLabels.State]);
        Assert.Equal("1", labels[StateLabels.RestartCount]);
    }

    [Fact]
    public async Task Two_sessions_starting_one_container_at_once_make_one_task_and_both_answer_Running()
    {
        // Without the container lock around a start, the second session's create meets the first
        // one's (containerd: "file exists", then "already exists") and its Start-Container fails.
        await using var c = await TestContainer.StartAsync(_fx, "two-starts", Containers.Cooperative, start: false);
        await using var other = ContainerEngine.CreateUnshared(_fx.Address, _fx.Namespace);
        for (int round = 0; round < 3; round++)
        {
            var both = await Task.WhenAll(Engine.StartAsync(c.Id), other.StartAsync(c.Id)).WaitAsync(TimeSpan.FromSeconds(60));
            var task = await _fx.Client.GetTaskAsync(c.Id);
            Assert.NotNull(task);
            Assert.All(both, i => Assert.Equal(ContainerStatus.Running, i.Status));
            Assert.All(both, i => Assert.Equal(task!.Pid, i.Pid));
            Assert.Equal(StopOutcome.Stopped, (await Engine.StopAsync(c.Id, null, 5, null)).Outcome);
        }
    }

    [Fact]
    public async Task A_timeout_past_49_days_waits_instead_of_failing()
    {
        await using var c = await TestContainer.StartAsync(_fx, "e9", Containers.Cooperative);
        using (var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300)))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Engine.WaitAsync(c.Id, WaitCondition.NotRunning, TimeSpan.FromDays(60), cts.Token));
        }

        var r = await Engine.StopAsync(c.Id, null, int.MaxValue, null).WaitAsync(TimeSpan.FromSeconds(20));
        Assert.True(r.Outcome == StopOutcome.Stopped, string.Join("\n", r.Steps) + r.Error);
        Assert.Equal(0, r.ExitCode);
        Assert.Equal(StopEscalation.None, r.Escalation);
    }

    [Fact]
    public async Task A_disposed_engine_restarts_nothing_and_the_next_holder_carries_out_the_pending_restart()
    {
        await using var scratch = new Scratch(_fx, "e11");
        var first = scratch.Open();
        await Containers.Until(() => Task.FromResult(first.IsSupervisor), TimeSpan.FromSeconds(5), "the engine holds the duty");
        var events = first.Events.Subscribe();
        string id = await scratch.NewContainerAsync(first, "e11", FailsSoon, policy: Containers.Policy("always"));
        // The fourth backoff is 800 ms: long enough to dispose the engine inside it.
        await Containers.Collect(events, id, l => l.Count(e => e.Type == EventTypes.Restarting) >= 4, TimeSpan.FromSeconds(20));
        await first.DisposeAsync();
        await Containers.AssertNoTask(scratch.Client, id, TimeSpan.FromSeconds(2), "a disposed engine restarted a container");
        Assert.Equal(StateLabels.StateRestarting, (await scratch.Client.GetContainerAsync(id)).Labels[StateLabels.State]);

        // The duty is free: a new engine takes it and does the restart the first one left.
        var next = scratch.Open();
        await Containers.Until(() => Task.FromResult(next.IsSupervisor), TimeSpan.FromSeconds(3), "the next engine took the duty");
        await Containers.Until(async () => await scratch.Client.GetTaskAsync(id) is not null, TimeSpan.FromSeconds(10), "the pending restart carried out");
    }

    [Fact]
    public async Task A_container_paused_during_the_grace_period_is_resumed_so_SIGKILL_lands()
    {
        await using var c = await TestContainer.StartAsync(_fx, "e17", Containers.IgnoresTerm);
        var signalled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var clock = Stopwatch.StartNew();
        var stop = Engine.StopAsync(c.Id, null, 2, s =>
        {
            if (s.Kind == StopStepKind.Signal)
            {
                signalled.TrySetResult();
            }
        });
        await signalled.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await Engine.PauseAsync(c.Id);
        var r = await stop.WaitAsync(TimeSpan.FromSeconds(30));
        string steps = string.Join("\n", r.Steps);
        Assert.True(r.Outcome == StopOutcome.Stopped, steps + r.Error);
        Assert.Equal(StopEscalation.Kill, r.Escalation);
        Assert.Equal(137, r.ExitCode);
        int kill = r.Steps.ToList().FindIndex(s => s.Kind == StopStepKind.Kill);
        Assert.Contains(r.Steps.Skip(kill), s => s.Kind == StopStepKind.Resume);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2) + StopOperation.KillWait, $"took {clock.Elapsed}\n{steps}");
    }

    [Fact]
    public async Task An_observer_that_throws_does_not_abort_the_shared_stop()
    {
        await using var c = await TestContainer.StartAsync(_fx, "e18", Containers.Cooperative);
        var broken = Engine.StopAsync(c.Id, null, 5, _ => throw new InvalidOperationException("the job's streams are closed"));
        var joiner = Engine.StopAsync(c.Id, null, 5, null);
        var r1 = await broken.WaitAsync(TimeSpan.FromSeconds(20));
        var r2 = await joiner.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.True(r1.Outcome == StopOutcome.Stopped, string.Join("\n", r1.Steps) + r1.Error);
        Assert.Equal(StopOutcome.Stopped, r2.Outcome);
        Assert.Equal(0, r1.ExitCode);
    }

    private static async Task<Containerd.TaskInfo> RunningTask(Containerd.ContainerdClient client, string id, TimeSpan within, string because)
    {
        Containerd.TaskInfo? t = null;
        await Containers.Until(async () => (t = await client.GetTaskAsync(id)) is { Status: Containerd.TaskStatus.Running }, within, because);
        return t!;
    }

    [Fact]
    public async Task A_first_look_without_the_duty_records_the_exit_only_and_the_holder_restarts_it()
    {
        await using var scratch = new Scratch(_fx, "e20");
        var blocker = await scratch.HoldDutyAsync();
        try
        {
            var old = scratch.Open();
            string id = await scratch.NewContainerAsync(old, "e20", new[] { "/bin/sh", "-c", "sleep 0.5; exit 3" }, policy: Containers.Policy("always"));
            Assert.False(old.IsSupervisor);
            await old.DisposeAsync();
            using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
            {
                Assert.Equal(3u, (await scratch.Client.WaitAsync(id, cts.Token)).ExitStatus);
            }

            // A Wait-Container in a session without the duty: it records the exit, restarts
            // nothing, and leaves the state running for the holder to decide.
            var fresh = scratch.Open();
            var w = await fresh.WaitAsync(id, WaitCondition.NotRunning, TimeSpan.FromSeconds(10));
            Assert.Equal(3, w.ExitCode);
            Assert.False(fresh.IsSupervisor);
            await Containers.AssertNoTask(scratch.Client, id, TimeSpan.FromSeconds(1), "an engine without the restart duty restarted the container");
            var labels = (await scratch.Client.GetContainerAsync(id)).Labels;
            Assert.Equal("3", labels[StateLabels.ExitCode]);
            Assert.Equal(StateLabels.StateRunning, labels[StateLabels.State]);

            // The duty freed: that engine takes it and restarts what was left for the holder.
            blocker.Dispose();
            await fresh.WhenSupervisorAsync().WaitAsync(TimeSpan.FromSeconds(10));
            await RunningTask(scratch.Client, id, TimeSpan.FromSeconds(10), "the new holder restarted the container");
            // The start is recorded just after the task runs, and each run exits after 0.5 s and
            // is restarted again: the count is at least 1 once recorded; how far past depends on the load.
            await Containers.Until(async () => int.TryParse((await scratch.Client.GetContainerAsync(id)).Labels.GetValueOrDefault(StateLabels.RestartCount), out int n) && n >= 1,
                TimeSpan.FromSeconds(10), "the new holder's restart recorded in the labels");
        }
        finally
        {
            blocker.Dispose();
        }
    }

    [Fact]
    public async Task Chaos_seed_7_an_exit_nobody_finalised_is_restarted_by_the_next_holder()
    {
        // Seed 7: an unless-stopped container exited while no engine watched; its task stayed,
        // stopped. The engine that took the duty next recorded it as stopped and nobody restarted it.
        await using var scratch = new Scratch(_fx, "seed7");
        var blocker = await scratch.HoldDutyAsync();
        try
        {
            var old = scratch.Open();
            string id = await scratch.NewContainerAsync(old, "seed7", new[] { "/bin/sh", "-c", "sleep 0.5; exit 11" }, policy: Containers.Policy("unless-stopped"));
            await old.DisposeAsync();
            uint firstPid;
            using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
            {
                Assert.Equal(11u, (await scratch.Client.WaitAsync(id, cts.Token)).ExitStatus);
            }

            var stopped = (await scratch.Client.GetTaskAsync(id))!;
            Assert.Equal(Containerd.TaskStatus.Stopped, stopped.Status);
            firstPid = stopped.Pid;
            var next = scratch.Open();
            blocker.Dispose();
            await next.WhenSupervisorAsync().WaitAsync(TimeSpan.FromSeconds(10));
            var t = await RunningTask(scratch.Client, id, TimeSpan.FromSeconds(10), "the holder restarted an exit nobody finalised");
            Assert.NotEqual(firstPid, t.Pid);
            // The start is recorded just after the task runs: under load a read between the two
            // sees the first start's count.
            await Containers.Until(async () => (await scratch.Client.GetContainerAsync(id)).Labels.GetValueOrDefault(StateLabels.RestartCount) != "0",
                TimeSpan.FromSeconds(10), "the restart recorded in the labels");
            var labels = (await scratch.Client.GetContainerAsync(id)).Labels;
            Assert.Equal("11", labels[StateLabels.ExitCode]);
            Assert.Equal("1", labels[StateLabels.RestartCount]);
        }
        finally
        {
            blocker.Dispose();
        }
    }

    [Fact]
    public async Task A_failed_restart_is_recorded_as_stopped_with_its_error_and_wakes_waiters()
    {
        string rootfs = Path.Combine(Path.GetTempPath(), "pscd-e7-" + Guid.NewGuid().ToString("N")[..8]);
        Host.Must("cp", "-a", _fx.RootFs, rootfs);
        var events = Engine.Events.Subscribe();
        try
        {
            await using var c = await TestContainer.StartAsync(Engine, rootfs, "e7", new[] { "/bin/sh", "-c", "sleep 1; exit 1" }, Containers.Policy("always"));
            await Containers.Collect(events, c.Id, l => l.Any(e => e.Type == EventTypes.Restart), TimeSpan.FromSeconds(15));
            Directory.Delete(rootfs, recursive: true);
            // The next exit enters Restarting; a NextExit waiter that comes then must be woken when the restart fails.
            await Containers.Collect(events, c.Id, l => l.Any(e => e.Type == EventTypes.Restarting), TimeSpan.FromSeconds(15));
            var next = Engine.WaitAsync(c.Id, WaitCondition.NextExit, TimeSpan.FromSeconds(20));
            var seen = await Containers.Collect(events, c.Id, l => l.Any(e => e.Type == EventTypes.Diagnostic && e.Attributes["Message"].Contains("restart by policy failed", StringComparison.Ordinal)), TimeSpan.FromSeconds(15));
            _out.WriteLine(string.Join("\n", seen.Select(e => $"{e.Type} {string.Join(",", e.Attributes.Select(a => a.Key + "=" + a.Value))}")));
            var w = await next;
            Assert.False(w.TimedOut);
            await Containers.Until(() => Task.FromResult(Engine.StateOf(c.Id).Status == ContainerStatus.Stopped), TimeSpan.FromSeconds(5), "the state left Restarting");
            // NextExit waiters registered during the failed restart are woken (moby's SetStopped).
            var late = await Engine.WaitAsync(c.Id, WaitCondition.NotRunning, TimeSpan.FromSeconds(1));
            Assert.False(late.TimedOut);
            var labels = (await _fx.Client.GetContainerAsync(c.Id)).Labels;
            Assert.Equal(StateLabels.StateStopped, labels[StateLabels.State]);
            Assert.True(labels.ContainsKey(StateLabels.RestartError));
            Assert.Equal(ContainerStatus.Stopped, (await Engine.GetInfoAsync(c.Id)).Status);
        }
        finally
        {
            Engine.Events.Unsubscribe(events);
            if (Directory.Exists(rootfs))
            {
                Directory.Delete(rootfs, recursive: true);
            }
        }
    }
}
