using PSContainerd.Engine;
using Xunit;

namespace PSContainerd.Tests;

/// <summary>
/// An exit a session handles late (it was stopped, frozen, or its queue was busy) after another
/// session recorded that exit and started the container again.
/// </summary>
[Collection(ContainerdCollection.Name)]
public sealed class LateExitTests
{
    private readonly ContainerdFixture _fx;

    public LateExitTests(ContainerdFixture fx) => _fx = fx;

    [Fact]
    public async Task Chaos_seed_4646_an_exit_handled_late_is_not_recorded_over_the_task_another_session_started_since()
    {
        // The holder (SIGSTOPped in the chaos run) knows the container's first task. Its queue is
        // held here, so it handles the exit of that task only after the other session has stopped
        // the container and started it again; it then wrote state=stopped over the running task.
        await using var scratch = new Scratch(_fx, "late");
        var (holder, other) = await scratch.OpenHolderAndOtherAsync();
        string id = await scratch.NewContainerAsync(holder, "late", Containers.IgnoresTerm);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var held = holder.StateOf(id).Enqueue(() => gate.Task.WaitAsync(TimeSpan.FromSeconds(60)));
        try
        {
            var stop = await other.StopAsync(id, Signals.SIGKILL, 0, null).WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(StopOutcome.Stopped, stop.Outcome);
            var started = await other.StartAsync(id).WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(ContainerStatus.Running, started.Status);
            // "late": handled more than a second after the exit happened
            await Containers.Until(() => Task.FromResult(DateTime.UtcNow - stop.ExitedAt!.Value > TimeSpan.FromSeconds(1.2)), TimeSpan.FromSeconds(5), "the exit is a second old");
        }
        finally
        {
            gate.TrySetResult();
        }

        await held;
        await holder.StateOf(id).Enqueue(() => Task.CompletedTask).WaitAsync(TimeSpan.FromSeconds(30)); // the holder has handled what it queued
        var task = await scratch.Client.GetTaskAsync(id);
        Assert.Equal(Containerd.TaskStatus.Running, task?.Status);
        var labels = (await scratch.Client.GetContainerAsync(id)).Labels;
        Assert.Equal(StateLabels.StateRunning, labels[StateLabels.State]);
    }

    [Fact]
    public async Task Chaos_seed_20261210_an_exit_handled_late_is_not_recorded_on_a_container_created_again_since()
    {
        // The holder knows the container's running task; its queue is held while another session
        // removes the container (killing the task) and creates one of the same id, not started.
        // The holder's late handling of the old task's exit wrote it on the new record (exit 255 in
        // the chaos run), a container that never ran.
        await using var scratch = new Scratch(_fx, "recr");
        var (holder, other) = await scratch.OpenHolderAndOtherAsync();
        string[] command = Containers.IgnoresTerm;
        string id = await scratch.NewContainerAsync(holder, "recr", command);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var held = holder.StateOf(id).Enqueue(() => gate.Task.WaitAsync(TimeSpan.FromSeconds(60)));
        DateTime removedAt;
        try
        {
            await other.RemoveAsync(id, force: true).WaitAsync(TimeSpan.FromSeconds(30));
            removedAt = DateTime.UtcNow;
            await other.CreateAsync(new NewContainerRequest(id, _fx.RootFs, command, Array.Empty<string>(), new Dictionary<string, string>(), null, null, RestartPolicy.No, false, null));
            await Containers.Until(() => Task.FromResult(DateTime.UtcNow - removedAt > TimeSpan.FromSeconds(1.2)), TimeSpan.FromSeconds(5), "the exit is a second old");
        }
        finally
        {
            gate.TrySetResult();
        }

        await held;
        await holder.StateOf(id).Enqueue(() => Task.CompletedTask).WaitAsync(TimeSpan.FromSeconds(30));
        var labels = (await scratch.Client.GetContainerAsync(id)).Labels;
        Assert.False(labels.ContainsKey(StateLabels.ExitCode), $"an exit was recorded on the new container: {labels.GetValueOrDefault(StateLabels.ExitCode)}");
        Assert.Null(await scratch.Client.GetTaskAsync(id));
    }
}
