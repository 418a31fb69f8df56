using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using PSContainerd.Containerd;
using PSContainerd.Engine;
using Xunit;
using Api = PSContainerd.Containerd.Api;

namespace PSContainerd.Tests;

/// <summary>Events that are not the init process's exit: exec exits leave the container alone; an OOM marks the next exit.</summary>
[Collection(ContainerdCollection.Name)]
public sealed class ExecAndOomTests
{
    private readonly ContainerdFixture _fx;

    public ExecAndOomTests(ContainerdFixture fx) => _fx = fx;

    private ContainerEngine Engine => _fx.Engine;

    [Fact]
    public async Task An_exec_exit_does_not_change_the_containers_state()
    {
        var events = Engine.Events.Subscribe();
        string id = await _fx.NewContainerAsync("exec", Containers.IgnoresTerm);
        try
        {
            var next = Engine.WaitAsync(id, WaitCondition.NextExit, TimeSpan.FromSeconds(3));
            Assert.Equal(5, await Containers.CtrExecAsync(_fx.Address, _fx.Namespace, id, "x1", 5));

            var seen = await Containers.Collect(events, id, l => l.Any(e => e.Type == "ExecExit"), TimeSpan.FromSeconds(10));
            var exec = seen.Single(e => e.Type == "ExecExit");
            Assert.Equal("x1", exec.Attributes["ExecId"]);
            Assert.Equal("5", exec.Attributes["ExitCode"]);

            Assert.Equal(ContainerStatus.Running, Engine.StateOf(id).Status);
            Assert.True((await next).TimedOut, "a waiter of the container's next exit was woken by the exec's exit");
            Assert.Equal(Containerd.TaskStatus.Running, (await _fx.Client.GetTaskAsync(id))?.Status);
            Assert.False((await _fx.Client.GetContainerAsync(id)).Labels.ContainsKey(StateLabels.ExitCode));
        }
        finally
        {
            Engine.Events.Unsubscribe(events);
            await _fx.RemoveAsync(id);
        }
    }

    [Fact]
    public async Task An_exec_whose_id_is_the_container_id_is_told_from_the_init_by_its_pid()
    {
        // The holder has never looked at the container (another session started it): the exit
        // event's process id says "init", only the pid says otherwise.
        await using var scratch = new Scratch(_fx, "execid");
        var (holder, other) = await scratch.OpenHolderAndOtherAsync();
        await holder.WhenMonitoringAsync();
        var events = holder.Events.Subscribe();
        try
        {
            string id = await scratch.NewContainerAsync(other, "execid", Containers.IgnoresTerm, policy: Containers.Policy("always"));
            uint init = (await scratch.Client.GetTaskAsync(id))!.Pid;
            Assert.Equal(42, await Containers.CtrExecAsync(_fx.Address, scratch.Namespace, id, id, 42));

            var seen = await Containers.Collect(events, id, l => l.Any(e => e.Type is "ExecExit" or "Exit"), TimeSpan.FromSeconds(10));
            Assert.DoesNotContain(seen, e => e.Type == "Exit");
            Assert.Equal("42", seen.Single(e => e.Type == "ExecExit").Attributes["ExitCode"]);

            var task = await scratch.Client.GetTaskAsync(id);
            Assert.Equal(Containerd.TaskStatus.Running, task?.Status);
            Assert.Equal(init, task!.Pid);
            var labels = (await scratch.Client.GetContainerAsync(id)).Labels;
            Assert.False(labels.ContainsKey(StateLabels.ExitCode), $"the exec's exit was recorded as the container's: exit code {labels.GetValueOrDefault(StateLabels.ExitCode)}, state {labels.GetValueOrDefault(StateLabels.State)}");
            Assert.Equal(StateLabels.StateRunning, labels[StateLabels.State]);
            Assert.Equal(ContainerStatus.Running, (await holder.GetInfoAsync(id)).Status);

            // The holder still owns the real exit: it restarts the container after it.
            await scratch.Client.KillAsync(id, Signals.SIGKILL);
            await Containers.Until(async () => await scratch.Client.GetTaskAsync(id) is { Status: Containerd.TaskStatus.Running } t && t.Pid != init,
                TimeSpan.FromSeconds(15), "the holder restarted the container after its init's real exit");
        }
        finally
        {
            holder.Events.Unsubscribe(events);
        }
    }

    [Fact]
    public async Task An_oom_event_makes_the_next_exit_report_OOMKilled()
    {
        var events = Engine.Events.Subscribe();
        string id = await _fx.NewContainerAsync("oom", Containers.IgnoresTerm);
        try
        {
            await PublishOomAsync(_fx.Address, _fx.Namespace, id);
            await Containers.Collect(events, id, l => l.Any(e => e.Type == "Oom"), TimeSpan.FromSeconds(10));
            var r = await Engine.StopAsync(id, Signals.SIGKILL, 0, null);
            Assert.Equal(137, r.ExitCode);
            Assert.True(r.OOMKilled);
            Assert.True((await Engine.WaitAsync(id, WaitCondition.NotRunning, TimeSpan.FromSeconds(1))).OOMKilled);
            Assert.Equal("true", (await _fx.Client.GetContainerAsync(id)).Labels[StateLabels.OomKilled]);

            // The mark is for one run: a new start clears it.
            await Engine.StartAsync(id);
            Assert.False((await _fx.Client.GetContainerAsync(id)).Labels.ContainsKey(StateLabels.OomKilled));
        }
        finally
        {
            Engine.Events.Unsubscribe(events);
            await _fx.RemoveAsync(id);
        }
    }

    [Fact]
    public async Task An_oom_seen_by_a_session_that_is_gone_is_reported_by_restore()
    {
        await using var scratch = new Scratch(_fx, "oom");
        var old = scratch.Open();
        string id = await scratch.NewContainerAsync(old, "oom", Containers.IgnoresTerm);
        var events = old.Events.Subscribe();
        await PublishOomAsync(_fx.Address, scratch.Namespace, id);
        await Containers.Collect(events, id, l => l.Any(e => e.Type == "Oom"), TimeSpan.FromSeconds(10));
        await old.DisposeAsync();
        await scratch.Client.KillAsync(id, Signals.SIGKILL);
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
        {
            await scratch.Client.WaitAsync(id, cts.Token);
        }

        var fresh = scratch.Open();
        var r = await fresh.RestoreOneAsync(id, stopRunning: false);
        Assert.Equal(RestoreAction.RecordedExit, r.Action);
        Assert.Equal(137, r.ExitCode);
        Assert.Contains("OOM", r.Detail);
        Assert.True((await fresh.WaitAsync(id, WaitCondition.NotRunning, TimeSpan.FromSeconds(1))).OOMKilled);
    }

    /// <summary>Publishes a /tasks/oom as the shim would (no memory limit needed to test the bookkeeping).</summary>
    private static async Task PublishOomAsync(string address, string ns, string id)
    {
        var events = new Api.Events.Events.EventsClient(ContainerdChannel.For(address));
        var oom = new Api.EventTypes.TaskOOM { ContainerId = id };
        await events.PublishAsync(
            new Api.Events.PublishRequest { Topic = "/tasks/oom", Event = new Any { TypeUrl = "containerd.events.TaskOOM", Value = oom.ToByteString() } },
            new Metadata { { "containerd-namespace", ns } },
            DateTime.UtcNow.AddSeconds(5));
    }
}
