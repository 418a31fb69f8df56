using PSContainerd.Engine;
using Xunit;

namespace PSContainerd.Tests;

/// <summary>The stop flow against real containers: moby's expectations, escalation, joining, waiters.</summary>
[Collection(ContainerdCollection.Name)]
public sealed class StopEngineTests
{
    /// <summary>PID 1 with a TERM handler: exits 0 at once.</summary>
    public static readonly string[] Cooperative = Containers.Cooperative;

    /// <summary>sleep as PID 1 has no handler, so the kernel drops SIGTERM (docs/failure-modes.md row 1).</summary>
    public static readonly string[] IgnoresTerm = Containers.IgnoresTerm;

    private readonly ContainerdFixture _fx;

    public StopEngineTests(ContainerdFixture fx) => _fx = fx;

    private ContainerEngine Engine => _fx.Engine;

    [Fact]
    public async Task Cooperative_container_exits_0_without_escalation()
    {
        string id = await _fx.NewContainerAsync("coop", Cooperative);
        try
        {
            var r = await Engine.StopAsync(id, null, 10, null);
            Assert.Equal(StopOutcome.Stopped, r.Outcome);
            Assert.Equal(0, r.ExitCode);
            Assert.Equal(StopEscalation.None, r.Escalation);
            Assert.Equal("SIGTERM", r.Signal);
            Assert.DoesNotContain(r.Steps, s => s.Action == "kill");
        }
        finally
        {
            await _fx.RemoveAsync(id);
        }
    }

    [Fact]
    public async Task Term_ignoring_pid1_is_killed_when_the_grace_period_ends()
    {
        string id = await _fx.NewContainerAsync("noterm", IgnoresTerm);
        try
        {
            var r = await Engine.StopAsync(id, null, 1, null);
            Assert.Equal(StopOutcome.Stopped, r.Outcome);
            Assert.Equal(137, r.ExitCode);
            Assert.Equal(StopEscalation.Kill, r.Escalation);
            Assert.True(r.Duration >= TimeSpan.FromSeconds(1), $"escalated early: {r.Duration}");
            Assert.True(r.Duration < TimeSpan.FromSeconds(4), $"escalation took {r.Duration}");
        }
        finally
        {
            await _fx.RemoveAsync(id);
        }
    }

    [Theory]
    [InlineData(0, 137)]
    [InlineData(1, 137)]
    [InlineData(-1, 42)]
    [InlineData(5, 42)]
    public async Task Moby_sleep_then_exit_42(int timeout, int expected)
    {
        // moby's TestStopContainerWithTimeout: sh as PID 1 ignores SIGTERM, so only the timeout decides.
        string id = await _fx.NewContainerAsync("m42", new[] { "/bin/sh", "-c", "sleep 2; exit 42" });
        try
        {
            var r = await Engine.StopAsync(id, null, timeout, null);
            Assert.Equal(StopOutcome.Stopped, r.Outcome);
            Assert.Equal(expected, r.ExitCode);
        }
        finally
        {
            await _fx.RemoveAsync(id);
        }
    }

    [Fact]
    public async Task Waiter_blocked_before_the_stop_gets_the_exit_code()
    {
        string id = await _fx.NewContainerAsync("waiter", IgnoresTerm);
        try
        {
            var wait = Engine.WaitAsync(id, WaitCondition.NotRunning, null);
            Assert.False(wait.IsCompleted);
            var stop = await Engine.StopAsync(id, null, 0, null);
            var w = await wait.WaitAsync(TimeSpan.FromSeconds(2));
            Assert.Equal(137, w.ExitCode);
            Assert.Equal(stop.ExitCode, w.ExitCode);
            Assert.False(w.TimedOut);
        }
        finally
        {
            await _fx.RemoveAsync(id);
        }
    }

    [Fact]
    public async Task NotRunning_on_an_exited_container_returns_its_code_at_once()
    {
        string id = await _fx.NewContainerAsync("exited", new[] { "/bin/sh", "-c", "exit 7" });
        try
        {
            var first = await Engine.WaitAsync(id, WaitCondition.NotRunning, TimeSpan.FromSeconds(10));
            Assert.Equal(7, first.ExitCode);
            var again = Engine.WaitAsync(id, WaitCondition.NotRunning, TimeSpan.FromSeconds(10));
            Assert.True(again.IsCompleted || (await again.WaitAsync(TimeSpan.FromMilliseconds(500))).ExitCode == 7);
            Assert.Equal(7, (await again).ExitCode);
        }
        finally
        {
            await _fx.RemoveAsync(id);
        }
    }

    [Fact]
    public async Task Stopping_a_stopped_container_is_AlreadyStopped_with_its_exit()
    {
        string id = await _fx.NewContainerAsync("already", new[] { "/bin/sh", "-c", "exit 3" });
        try
        {
            await Engine.WaitAsync(id, WaitCondition.NotRunning, TimeSpan.FromSeconds(10));
            var r = await Engine.StopAsync(id, null, null, null);
            Assert.Equal(StopOutcome.AlreadyStopped, r.Outcome);
            Assert.Equal(3, r.ExitCode);
        }
        finally
        {
            await _fx.RemoveAsync(id);
        }
    }

    [Fact]
    public async Task Eight_concurrent_stops_share_one_escalation_and_one_result()
    {
        string id = await _fx.NewContainerAsync("conc", IgnoresTerm);
        try
        {
            var stops = Enumerable.Range(0, 8).Select(_ => Task.Run(() => Engine.StopAsync(id, null, 1, null))).ToArray();
            var results = await Task.WhenAll(stops);
            Assert.All(results, r => Assert.Equal(137, r.ExitCode));
            Assert.Single(results.Select(r => r.Steps).Distinct());
            Assert.Single(results[0].Steps, s => s.Action == "signal");
            Assert.Equal(SignalRoute.Pidfd, Assert.Single(results[0].Steps, s => s.Action == "kill").Route);
        }
        finally
        {
            await _fx.RemoveAsync(id);
        }
    }

    [Fact]
    public async Task A_joiner_with_a_shorter_timeout_brings_the_escalation_forward()
    {
        string id = await _fx.NewContainerAsync("tighten", IgnoresTerm);
        try
        {
            var slow = Engine.StopAsync(id, null, 60, null);
            var fast = await Engine.StopAsync(id, null, 1, null);
            Assert.Equal(137, fast.ExitCode);
            Assert.True(fast.Duration < TimeSpan.FromSeconds(10), $"took {fast.Duration}");
            Assert.Same(fast, await slow);
        }
        finally
        {
            await _fx.RemoveAsync(id);
        }
    }

    [Theory]
    [InlineData("own")]
    [InlineData("image")]
    [InlineData("caller")]
    public async Task Custom_stop_signal_from_each_source(string source)
    {
        // USR1 handled, TERM not: only the right signal gives a graceful exit 10.
        var labels = new Dictionary<string, string>();
        int? callerSignal = null;
        int? ownSignal = null;
        switch (source)
        {
            case "own": ownSignal = 10; break;
            case "image": labels[StateLabels.ImageStopSignal] = "SIGUSR1"; break;
            default: callerSignal = 10; break;
        }

        string id = await _fx.NewContainerAsync("sig", new[] { "/bin/sh", "-c", "trap 'exit 10' USR1; sleep 1000 & wait" }, labels: labels, stopSignal: ownSignal);
        try
        {
            var r = await Engine.StopAsync(id, callerSignal, 5, null);
            Assert.Equal("SIGUSR1", r.Signal);
            Assert.Equal(10, r.ExitCode);
            Assert.Equal(StopEscalation.None, r.Escalation);
        }
        finally
        {
            await _fx.RemoveAsync(id);
        }
    }

    [Fact]
    public async Task Garbage_labels_fall_back_to_defaults_with_a_warning()
    {
        var labels = new Dictionary<string, string> { [StateLabels.StopSignal] = "SIGNOPE", [StateLabels.StopTimeout] = "abc" };
        string id = await _fx.NewContainerAsync("garbage", Cooperative, labels: labels);
        try
        {
            var r = await Engine.StopAsync(id, null, null, null);
            Assert.Equal("SIGTERM", r.Signal);
            Assert.Equal(10, r.Timeout);
            Assert.Equal(0, r.ExitCode);
            Assert.Equal(2, r.Steps.Count(s => s.Action == "warning"));
        }
        finally
        {
            await _fx.RemoveAsync(id);
        }
    }

    [Fact]
    public async Task Paused_container_is_resumed_so_the_signal_lands_and_exits_gracefully()
    {
        string id = await _fx.NewContainerAsync("paused", Cooperative);
        try
        {
            await Engine.PauseAsync(id);
            var r = await Engine.StopAsync(id, null, 10, null);
            Assert.Equal(0, r.ExitCode);
            Assert.Equal(StopEscalation.None, r.Escalation);
            Assert.Contains(r.Steps, s => s.Action == "resume");
        }
        finally
        {
            await _fx.RemoveAsync(id);
        }
    }

    [Fact]
    public async Task Exit_by_someone_else_wakes_a_waiter()
    {
        string id = await _fx.NewContainerAsync("ext", IgnoresTerm);
        try
        {
            var wait = Engine.WaitAsync(id, WaitCondition.NextExit, TimeSpan.FromSeconds(20));
            await _fx.Client.KillAsync(id, Signals.SIGKILL); // as `ctr task kill -s KILL` does
            var w = await wait;
            Assert.Equal(137, w.ExitCode);
            Assert.False(w.TimedOut);
        }
        finally
        {
            await _fx.RemoveAsync(id);
        }
    }

    [Fact]
    public async Task A_stop_and_a_signal_are_events_too()
    {
        string id = await _fx.NewContainerAsync("evs", IgnoresTerm);
        var events = Engine.Events.Subscribe();
        try
        {
            await Engine.SignalAsync(id, Signals.SIGKILL, all: false);
            await Engine.WaitAsync(id, WaitCondition.NotRunning, TimeSpan.FromSeconds(10));
            await Engine.StartAsync(id);
            await Engine.StopAsync(id, null, 0, null);
            var seen = await Containers.Collect(events, id, l => l.Count(e => e.Type == "Exit") == 2, TimeSpan.FromSeconds(10));
            var kill = Assert.Single(seen, e => e.Type == "Kill");
            Assert.Equal("SIGKILL", kill.Attributes["Signal"]);
            var stop = Assert.Single(seen, e => e.Type == "Stop");
            Assert.Equal("0", stop.Attributes["Timeout"]);
            Assert.True(seen.IndexOf(stop) < seen.FindLastIndex(e => e.Type == "Exit"));
        }
        finally
        {
            Engine.Events.Unsubscribe(events);
            await _fx.RemoveAsync(id);
        }
    }

    [Fact]
    public async Task Wait_times_out_on_a_running_container()
    {
        string id = await _fx.NewContainerAsync("wto", IgnoresTerm);
        try
        {
            var w = await Engine.WaitAsync(id, WaitCondition.NotRunning, TimeSpan.FromMilliseconds(300));
            Assert.True(w.TimedOut);
            Assert.Null(w.ExitCode);
        }
        finally
        {
            await _fx.RemoveAsync(id);
        }
    }

    [Fact]
    public async Task Removed_condition_wakes_on_delete()
    {
        string id = await _fx.NewContainerAsync("rm", new[] { "/bin/true" }, start: false);
        // Tracked first: the wait is then registered before WaitAsync returns, and the delete below
        // cannot come before its first look at the record (which would find no container at all).
        await Engine.TrackAsync(id, CancellationToken.None);
        var wait = Engine.WaitAsync(id, WaitCondition.Removed, TimeSpan.FromSeconds(20));
        await _fx.Client.DeleteContainerAsync(id);
        var w = await wait;
        Assert.False(w.TimedOut);
    }
}
