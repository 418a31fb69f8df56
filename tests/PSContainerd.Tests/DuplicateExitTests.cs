using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using PSContainerd.Containerd.Api.EventTypes;
using PSContainerd.Engine;
using Xunit;

namespace PSContainerd.Tests;

/// <summary>
/// A duplicate /tasks/exit (cri-o#9256, containerd#6080) cannot be made to happen on demand, so
/// these tests replay one: a FAKE event published through containerd's own Events.Publish, which
/// reaches the engine exactly as the shim's would.
/// </summary>
[Collection(ContainerdCollection.Name)]
public sealed class DuplicateExitTests
{
    private readonly ContainerdFixture _fx;

    public DuplicateExitTests(ContainerdFixture fx) => _fx = fx;

    [Fact]
    public async Task A_duplicate_exit_event_is_handled_once()
    {
        string id = await _fx.NewContainerAsync("dup", StopEngineTests.IgnoresTerm);
        var events = _fx.Engine.Events.Subscribe();
        try
        {
            var pid = (await _fx.Engine.GetInfoAsync(id)).Pid!.Value;
            var stop = await _fx.Engine.StopAsync(id, null, 0, null);
            Assert.Equal(137, stop.ExitCode);

            // The same exit again (same pid and time), and once more with another status.
            foreach (uint status in new uint[] { 137, 1 })
            {
                var exit = new TaskExit { ContainerId = id, Id = id, Pid = pid, ExitStatus = status, ExitedAt = Timestamp.FromDateTime(stop.ExitedAt!.Value) };
                await _fx.Client.PublishAsync("/tasks/exit", "containerd.events.TaskExit", exit.ToByteString());
            }

            // A sentinel on the same container's queue: once its Oom is out, both duplicates were handled.
            await _fx.Client.PublishAsync("/tasks/oom", "containerd.events.TaskOOM", new TaskOOM { ContainerId = id }.ToByteString());
            var seen = new List<ContainerEvent>();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await foreach (var ev in events.ReadAllAsync(cts.Token))
            {
                if (ev.Id != id)
                {
                    continue;
                }

                seen.Add(ev);
                if (ev.Type == "Oom")
                {
                    break;
                }
            }

            Assert.Single(seen, e => e.Type == "Exit");
            var info = await _fx.Engine.GetInfoAsync(id);
            Assert.Equal(137, info.ExitCode);
            var wait = await _fx.Engine.WaitAsync(id, WaitCondition.NotRunning, TimeSpan.FromSeconds(5));
            Assert.Equal(137, wait.ExitCode);
        }
        finally
        {
            _fx.Engine.Events.Unsubscribe(events);
            await _fx.RemoveAsync(id);
        }
    }

    [Fact]
    public async Task A_stale_exit_of_an_earlier_task_does_not_stop_the_new_one()
    {
        string id = await _fx.NewContainerAsync("stale", StopEngineTests.IgnoresTerm);
        try
        {
            var oldPid = (await _fx.Engine.GetInfoAsync(id)).Pid!.Value;
            await _fx.Engine.StopAsync(id, null, 0, null);
            await _fx.Engine.StartAsync(id);
            var info = await _fx.Engine.GetInfoAsync(id);
            Assert.NotEqual(oldPid, info.Pid);

            var waiter = _fx.Engine.WaitAsync(id, WaitCondition.NextExit, TimeSpan.FromSeconds(30));
            var stale = new TaskExit { ContainerId = id, Id = id, Pid = oldPid, ExitStatus = 137, ExitedAt = Timestamp.FromDateTime(DateTime.UtcNow) };
            await _fx.Client.PublishAsync("/tasks/exit", "containerd.events.TaskExit", stale.ToByteString());
            var events = _fx.Engine.Events.Subscribe();
            try
            {
                await _fx.Client.PublishAsync("/tasks/oom", "containerd.events.TaskOOM", new TaskOOM { ContainerId = id }.ToByteString());
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await foreach (var ev in events.ReadAllAsync(cts.Token))
                {
                    if (ev.Id == id && ev.Type == "Oom")
                    {
                        break;
                    }
                }
            }
            finally
            {
                _fx.Engine.Events.Unsubscribe(events);
            }

            Assert.False(waiter.IsCompleted);
            Assert.Equal(ContainerStatus.Running, (await _fx.Engine.GetInfoAsync(id)).Status);
        }
        finally
        {
            await _fx.RemoveAsync(id);
        }
    }
}
