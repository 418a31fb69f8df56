using PSContainerd.Engine;
using Xunit;

namespace PSContainerd.Tests;

/// <summary>Restart policies while an engine runs (moby restartmanager), and a manual stop winning over them (docs/failure-modes.md row 7).</summary>
[Collection(ContainerdCollection.Name)]
public sealed class RestartPolicyTests
{
    private static readonly string[] FailsSoon = { "/bin/sh", "-c", "sleep 0.3; exit 1" };

    private readonly ContainerdFixture _fx;

    public RestartPolicyTests(ContainerdFixture fx) => _fx = fx;

    private ContainerEngine Engine => _fx.Engine;

    [Fact]
    public async Task Always_restarts_with_growing_backoff_and_a_stop_ends_it()
    {
        var events = Engine.Events.Subscribe();
        string id = await _fx.NewContainerAsync("always", FailsSoon, policy: Containers.Policy("always"));
        try
        {
            var seen = await Containers.Collect(events, id, l => l.Count(e => e.Type == "Restart") >= 3, TimeSpan.FromSeconds(20));
            var backoffs = seen.Where(e => e.Type == "Restarting").Select(e => e.Attributes["Backoff"]).Take(3).ToList();
            Assert.Equal(new[] { "100 ms", "200 ms", "400 ms" }, backoffs);

            var stop = await Engine.StopAsync(id, null, 5, null);
            Assert.Contains(stop.Outcome, new[] { StopOutcome.Stopped, StopOutcome.RestartCancelled });

            // Negative check, bounded: no further exit (so no restart) within 2 s — longer than the next backoff (800 ms) plus a run.
            var next = await Engine.WaitAsync(id, WaitCondition.NextExit, TimeSpan.FromSeconds(2));
            Assert.True(next.TimedOut, $"the container exited again (code {next.ExitCode}): it was restarted after the stop");
            Assert.Null(await _fx.Client.GetTaskAsync(id));
            var info = await Engine.GetInfoAsync(id);
            Assert.Equal(ContainerStatus.Stopped, info.Status);
            Assert.Equal("true", info.Labels[StateLabels.ManuallyStopped]);
            Assert.Equal("true", info.Labels[StateLabels.ContainerdExplicitlyStopped]);
        }
        finally
        {
            Engine.Events.Unsubscribe(events);
            await _fx.RemoveAsync(id);
        }
    }

    [Fact]
    public async Task Stop_during_a_backoff_cancels_the_restart_without_a_signal()
    {
        var events = Engine.Events.Subscribe();
        string id = await _fx.NewContainerAsync("backoff", FailsSoon, policy: Containers.Policy("always"));
        try
        {
            // The third exit's backoff is 400 ms: the stop lands inside it.
            await Containers.Collect(events, id, l => l.Count(e => e.Type == "Restarting") >= 3, TimeSpan.FromSeconds(20));
            var r = await Engine.StopAsync(id, null, 5, null);
            Assert.Equal(StopOutcome.RestartCancelled, r.Outcome);
            Assert.DoesNotContain(r.Steps, s => s.Action is "signal" or "kill" or "direct-kill");
            Assert.Equal(1, r.ExitCode);

            var next = await Engine.WaitAsync(id, WaitCondition.NextExit, TimeSpan.FromSeconds(1.5));
            Assert.True(next.TimedOut, "restarted after the stop");
            Assert.Null(await _fx.Client.GetTaskAsync(id));
            var info = await Engine.GetInfoAsync(id);
            Assert.Equal(ContainerStatus.Stopped, info.Status);
            Assert.Equal(StateLabels.StateStopped, info.Labels[StateLabels.State]);
            Assert.False(info.Labels.ContainsKey(StateLabels.RestartDue));
        }
        finally
        {
            Engine.Events.Unsubscribe(events);
            await _fx.RemoveAsync(id);
        }
    }

    [Fact]
    public async Task OnFailure_2_stops_restarting_after_two_restarts()
    {
        var events = Engine.Events.Subscribe();
        string id = await _fx.NewContainerAsync("onfail", new[] { "/bin/sh", "-c", "sleep 0.2; exit 1" }, policy: Containers.Policy("on-failure:2"));
        try
        {
            var seen = await Containers.Collect(events, id, l => l.Count(e => e.Type == "Exit") >= 3, TimeSpan.FromSeconds(15));
            Assert.Equal(2, seen.Count(e => e.Type == "Restart"));
            Assert.Equal(ContainerStatus.Stopped, Engine.StateOf(id).Status);

            var next = await Engine.WaitAsync(id, WaitCondition.NextExit, TimeSpan.FromSeconds(1.5));
            Assert.True(next.TimedOut, "restarted a third time");
            var info = await Engine.GetInfoAsync(id);
            Assert.Equal(2, info.RestartCount);
            Assert.Equal(1, info.ExitCode);
            Assert.Equal(ContainerStatus.Stopped, info.Status);
        }
        finally
        {
            Engine.Events.Unsubscribe(events);
            await _fx.RemoveAsync(id);
        }
    }

    [Fact]
    public async Task OnFailure_does_not_restart_a_clean_exit()
    {
        string id = await _fx.NewContainerAsync("onfail0", new[] { "/bin/sh", "-c", "exit 0" }, policy: Containers.Policy("on-failure"));
        try
        {
            var w = await Engine.WaitAsync(id, WaitCondition.NotRunning, TimeSpan.FromSeconds(10));
            Assert.Equal(0, w.ExitCode);
            Assert.Equal(ContainerStatus.Stopped, Engine.StateOf(id).Status);
        }
        finally
        {
            await _fx.RemoveAsync(id);
        }
    }
}
