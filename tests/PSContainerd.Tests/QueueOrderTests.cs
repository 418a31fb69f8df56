using PSContainerd.Engine;
using Xunit;
using Xunit.Abstractions;

namespace PSContainerd.Tests;

/// <summary>
/// Transitions that race inside one engine: each runs on the container's queue, so whichever
/// order they land in, the record (the labels) and containerd's task agree afterwards.
/// </summary>
[Collection(ContainerdCollection.Name)]
public sealed class QueueOrderTests
{
    private readonly ContainerdFixture _fx;
    private readonly ITestOutputHelper _out;

    public QueueOrderTests(ContainerdFixture fx, ITestOutputHelper output)
    {
        _fx = fx;
        _out = output;
    }

    private ContainerEngine Engine => _fx.Engine;

    private async Task<IReadOnlyDictionary<string, string>> LabelsOf(string id) => (await _fx.Client.GetContainerAsync(id)).Labels;

    [Fact]
    public async Task A_start_and_a_stop_at_once_never_lose_the_stops_manual_flag()
    {
        await using var c = await TestContainer.StartAsync(_fx, "e10", Containers.Cooperative, Containers.Policy("always"));
        Assert.Equal(StopOutcome.Stopped, (await Engine.StopAsync(c.Id, null, 5, null)).Outcome);
        for (int round = 0; round < 4; round++)
        {
            var start = Engine.StartAsync(c.Id);
            var stop = Engine.StopAsync(c.Id, null, 5, null);
            await start.WaitAsync(TimeSpan.FromSeconds(30));
            var r = await stop.WaitAsync(TimeSpan.FromSeconds(30));
            var labels = await LabelsOf(c.Id);
            var task = await _fx.Client.GetTaskAsync(c.Id);
            bool runs = task is { Status: not Containerd.TaskStatus.Stopped };
            _out.WriteLine($"round {round}: stop {r.Outcome}, task {(runs ? "runs" : "none")}, state {labels.GetValueOrDefault(StateLabels.State)}, manual {labels.GetValueOrDefault(StateLabels.ManuallyStopped)}");
            if (r.Outcome == StopOutcome.Stopped)
            {
                // The stop came second: its manual flag survives the start's label write.
                Assert.False(runs, $"round {round}: the stop returned Stopped and the task runs");
                Assert.Equal("true", labels.GetValueOrDefault(StateLabels.ManuallyStopped));
                Assert.Equal(StateLabels.StateStopped, labels.GetValueOrDefault(StateLabels.State));
                Assert.False(labels.ContainsKey(StateLabels.StopIntent), $"round {round}: the stop intent outlived the stop");
            }
            else
            {
                // The stop came first and found nothing running; the start then cleared its flag.
                Assert.Equal(StopOutcome.AlreadyStopped, r.Outcome);
                Assert.True(runs, $"round {round}: the start came second and no task runs");
                Assert.Equal(StateLabels.StateRunning, labels.GetValueOrDefault(StateLabels.State));
                Assert.False(labels.ContainsKey(StateLabels.ManuallyStopped));
                Assert.Equal(StopOutcome.Stopped, (await Engine.StopAsync(c.Id, null, 5, null)).Outcome);
            }
        }
    }

    [Fact]
    public async Task A_stop_that_meets_the_exit_leaves_no_stop_intent_for_a_restore_to_resume()
    {
        // Exits by itself about 1 s in (SIGTERM is acted on only when the foreground sleep ends,
        // so a stop also ends it then, with 0): the stops land before, at and after that moment.
        string[] exitsSoon = { "/bin/sh", "-c", "trap 'exit 0' TERM; sleep 1; exit 4" };
        await using var c = await TestContainer.StartAsync(_fx, "e16", exitsSoon, start: false);
        foreach (int delay in new[] { 600, 850, 950, 1000, 1050, 1150, 1400 })
        {
            var sw = System.Diagnostics.Stopwatch.StartNew();
            await Engine.StartAsync(c.Id);
            var left = TimeSpan.FromMilliseconds(delay) - sw.Elapsed;
            if (left > TimeSpan.Zero)
            {
                await Task.Delay(left); // the race itself: a stop sent this long after the start began
            }

            var r = await Engine.StopAsync(c.Id, null, 5, null).WaitAsync(TimeSpan.FromSeconds(30));
            var labels = await LabelsOf(c.Id);
            _out.WriteLine($"after {delay} ms: {r.Outcome} exit {r.ExitCode}, intent {labels.GetValueOrDefault(StateLabels.StopIntent) ?? "none"}");
            Assert.True(r.Outcome is StopOutcome.Stopped or StopOutcome.AlreadyStopped, $"after {delay} ms: {r.Outcome}");
            Assert.True(r.ExitCode is 0 or 4, $"after {delay} ms: exit {r.ExitCode}");
            Assert.False(labels.ContainsKey(StateLabels.StopIntent), $"after {delay} ms: a stop intent survived the exit");
            var restored = await Engine.RestoreOneAsync(c.Id, stopRunning: false);
            Assert.NotEqual(RestoreAction.ResumedStop, restored.Action);
        }
    }

    [Fact]
    public async Task An_exit_reported_while_containerd_says_the_task_runs_is_not_recorded()
    {
        await using var c = await TestContainer.StartAsync(_fx, "e6", Containers.IgnoresTerm);
        var events = Engine.Events.Subscribe();
        try
        {
            var s = Engine.StateOf(c.Id);
            await Containers.Until(() => Task.FromResult(s.Loaded && s.Pid != 0), TimeSpan.FromSeconds(5), "the engine tracks the container");
            uint pid = s.Pid;

            // What a stale pidfd watch (an fd number reused by another watch) would report: an
            // exit with no status, for a process that still runs.
            await s.Enqueue(() => Engine.Exits.FinalizeAsync(s, pid, null, "stale-watch")).WaitAsync(TimeSpan.FromSeconds(30));

            Assert.Equal(ContainerStatus.Running, (await Engine.GetInfoAsync(c.Id)).Status);
            Assert.Equal(Containerd.TaskStatus.Running, (await _fx.Client.GetTaskAsync(c.Id))!.Status);
            Assert.False((await LabelsOf(c.Id)).ContainsKey(StateLabels.ExitCode));
            await Containers.Collect(events, c.Id, l => l.Any(e => e.Type == EventTypes.Diagnostic && e.Attributes["Message"].Contains("still runs", StringComparison.Ordinal)), TimeSpan.FromSeconds(5));

            // And a stop afterwards is a real one, not AlreadyStopped.
            var r = await Engine.StopAsync(c.Id, null, 1, null);
            Assert.Equal(StopOutcome.Stopped, r.Outcome);
            Assert.Equal(137, r.ExitCode);
        }
        finally
        {
            Engine.Events.Unsubscribe(events);
        }
    }
}
