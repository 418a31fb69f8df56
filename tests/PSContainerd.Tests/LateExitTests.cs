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
    public async Task Chaos_seed_20261307_an_exec_exit_with_the_container_id_handled_late_is_not_recorded_over_the_init_exit()
    {
        // The holder has never looked at the container and its queue is held (frozen in the chaos
        // run) while an exec given the container's id as its exec id exits 121 and another session
        // then SIGKILLs the init (137) and deletes the task. Resumed, the holder had no task to tell
        // the exec's pid from the init's and wrote 121 over the 137.
        await using var scratch = new Scratch(_fx, "lexec");
        var (holder, other) = await scratch.OpenHolderAndOtherAsync();
        await holder.WhenMonitoringAsync();
        var seenByHolder = holder.Events.Subscribe();
        var seenByOther = other.Events.Subscribe();
        string id = await scratch.NewContainerAsync(other, "lexec", Containers.IgnoresTerm);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var held = holder.StateOf(id).Enqueue(() => gate.Task.WaitAsync(TimeSpan.FromSeconds(60)));
        try
        {
            Assert.Equal(121, await Containers.CtrExecAsync(_fx.Address, scratch.Namespace, id, id, 121));
            var execEnded = DateTime.UtcNow;
            var stop = await other.StopAsync(id, Signals.SIGKILL, 0, null).WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(137, stop.ExitCode);
            await Containers.Until(async () => await scratch.Client.GetTaskAsync(id) is null, TimeSpan.FromSeconds(15), "the stopped task is deleted");
            // "late": the exec's exit is handled more than a second after it happened
            await Containers.Until(() => Task.FromResult(DateTime.UtcNow - execEnded > TimeSpan.FromSeconds(1.2)), TimeSpan.FromSeconds(5), "the exec's exit is a second old");
        }
        finally
        {
            gate.TrySetResult();
        }

        await held;
        await holder.StateOf(id).Enqueue(() => Task.CompletedTask).WaitAsync(TimeSpan.FromSeconds(30)); // the holder has handled what it queued
        var labels = (await scratch.Client.GetContainerAsync(id)).Labels;
        static string Exits(System.Threading.Channels.ChannelReader<ContainerEvent> r)
        {
            var seen = new List<string>();
            while (r.TryRead(out var e))
            {
                if (e.Type is "Exit" or "ExecExit" or "Diagnostic")
                {
                    seen.Add($"{e.Type} {string.Join(",", e.Attributes.Select(a => $"{a.Key}={a.Value}"))}");
                }
            }

            return string.Join(" | ", seen);
        }

        holder.Events.Unsubscribe(seenByHolder);
        other.Events.Unsubscribe(seenByOther);
        Assert.True(labels.GetValueOrDefault(StateLabels.ExitCode) == "137",
            $"the exec's exit was recorded over the init's: exit code {labels.GetValueOrDefault(StateLabels.ExitCode)}; the holder saw: {Exits(seenByHolder)}; the other session saw: {Exits(seenByOther)}");
        Assert.Equal(StateLabels.StateStopped, labels[StateLabels.State]);
        var wait = await holder.WaitAsync(id, WaitCondition.NotRunning, TimeSpan.FromSeconds(5));
        Assert.False(wait.TimedOut, "the holder still takes the container for running");
        Assert.Equal(137, wait.ExitCode);
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
        await RecreateWhileHeldAsync(holder, other, id, command, RestartPolicy.No, async () =>
        {
            var createdAt = DateTime.UtcNow;
            await Containers.Until(() => Task.FromResult(DateTime.UtcNow - createdAt > TimeSpan.FromSeconds(1.2)), TimeSpan.FromSeconds(5), "the exit is a second old");
        });
        var labels = (await scratch.Client.GetContainerAsync(id)).Labels;
        Assert.False(labels.ContainsKey(StateLabels.ExitCode), $"an exit was recorded on the new container: {labels.GetValueOrDefault(StateLabels.ExitCode)}");
        Assert.Null(await scratch.Client.GetTaskAsync(id));
    }

    [Fact]
    public async Task Chaos_seed_20261211_an_exit_handled_at_once_does_not_restart_a_container_created_again_since()
    {
        // The holder knows the running task of an on-failure container; its queue is held (the
        // chaos run froze the holder with SIGSTOP) while another session removes the container
        // (exit 137, which the policy would restart) and creates one of the same id, not started.
        // The holder handles that exit well within a second, so the late-exit check does not look;
        // its restart decision then read the new record, took it for the container's, recorded the
        // exit there and started the new container at the backoff.
        await using var scratch = new Scratch(_fx, "recr1");
        var (holder, other) = await scratch.OpenHolderAndOtherAsync();
        string[] command = Containers.IgnoresTerm;
        var policy = Containers.Policy("on-failure:2");
        string id = await scratch.NewContainerAsync(holder, "recr1", command, policy: policy);
        await RecreateWhileHeldAsync(holder, other, id, command, policy, () => Task.CompletedTask);
        var labels = (await scratch.Client.GetContainerAsync(id)).Labels;
        Assert.False(labels.ContainsKey(StateLabels.ExitCode), $"the removed container's exit was recorded on the new one: {labels.GetValueOrDefault(StateLabels.ExitCode)}");
        Assert.False(labels.ContainsKey(StateLabels.RestartDue), $"a restart of the new container was scheduled for {labels.GetValueOrDefault(StateLabels.RestartDue)}");
        await Containers.AssertNoTask(scratch.Client, id, TimeSpan.FromSeconds(2), "the holder started a container created again since the run that exited");
    }

    [Fact]
    public async Task A_restore_of_a_container_created_again_since_its_state_was_loaded_starts_from_the_new_record()
    {
        // The holder followed the running task of an always container. While its queue is busy,
        // another session removes the container and creates one of the same id, not started; a
        // Restore-ContainerState in the holder then looks at the container through the state it
        // loaded before, whose run is the removed container's.
        await using var scratch = new Scratch(_fx, "recr2");
        var (holder, other) = await scratch.OpenHolderAndOtherAsync();
        string[] command = Containers.IgnoresTerm;
        var policy = Containers.Policy("always");
        string id = await scratch.NewContainerAsync(holder, "recr2", command, policy: policy);
        Task<RestoreResult>? restore = null;
        await RecreateWhileHeldAsync(holder, other, id, command, policy, () =>
        {
            restore = holder.RestoreOneAsync(id, stopRunning: false);
            return Task.CompletedTask;
        });
        var result = await restore!.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.NotEqual(RestoreAction.Restarted, result.Action);
        var labels = (await scratch.Client.GetContainerAsync(id)).Labels;
        Assert.False(labels.ContainsKey(StateLabels.ExitCode), $"the removed container's exit was recorded on the new one: {labels.GetValueOrDefault(StateLabels.ExitCode)} (restore said {result.Action}: {result.Detail})");
        await Containers.AssertNoTask(scratch.Client, id, TimeSpan.FromSeconds(2), "a restore started a container created again and never started");
    }

    [Fact]
    public async Task Chaos_seed_8484_an_exit_handled_late_is_not_recorded_over_the_exit_of_a_newer_run()
    {
        // The holder (SIGSTOPped in the chaos run) knows the container's first run. While its queue
        // is held, another session stops it (exit 0), starts it again, and kills the new run (137),
        // recording that exit; the new task is deleted. Handling the first exit late, the holder found
        // no task, took the exit for the latest and wrote exit 0 over the newer run's record (in the
        // chaos run with state=stopped over an unless-stopped container, which nobody then restarted).
        // Every label write is watched: a later write of the newer run's exit would hide the wrong one.
        await using var scratch = new Scratch(_fx, "newer");
        var (holder, other) = await scratch.OpenHolderAndOtherAsync();
        string[] command = Containers.Cooperative;
        string id = await scratch.NewContainerAsync(holder, "newer", command);
        await Containers.UntilTrapsAsync(holder, id, command);
        using var watching = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var written = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var watch = Task.Run(async () =>
        {
            try
            {
                await foreach (var ev in scratch.Client.SubscribeAsync(new[] { "topic==\"/containers/update\"" }, watching.Token))
                {
                    if (ev is Containerd.ContainerLifecycleEvent { Labels: { } l } u && u.ContainerId == id && l.TryGetValue(StateLabels.ExitCode, out var code))
                    {
                        written.Enqueue(code);
                    }
                }
            }
            catch (Exception e) when (watching.IsCancellationRequested && e is OperationCanceledException or Containerd.ContainerdException)
            {
                // the watch's end: a cancelled stream may also end as an aborted request
            }
        });
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var held = holder.StateOf(id).Enqueue(() => gate.Task.WaitAsync(TimeSpan.FromSeconds(60)));
        try
        {
            var stop = await other.StopAsync(id, null, 10, null).WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(0, stop.ExitCode);
            await other.StartAsync(id).WaitAsync(TimeSpan.FromSeconds(30));
            await other.SignalAsync(id, Signals.SIGKILL, all: false).WaitAsync(TimeSpan.FromSeconds(30));
            await Containers.Until(() => Task.FromResult(written.Contains("137")), TimeSpan.FromSeconds(10), "the other session recorded the new run's exit");
            await Containers.Until(() => Task.FromResult(DateTime.UtcNow - stop.ExitedAt!.Value > TimeSpan.FromSeconds(1.2)), TimeSpan.FromSeconds(5), "the first exit is a second old");
        }
        finally
        {
            gate.TrySetResult();
        }

        await held;
        await holder.StateOf(id).Enqueue(() => Task.CompletedTask).WaitAsync(TimeSpan.FromSeconds(30));
        // the holder's writes reach the watch as events: one more write of ours marks the end of them
        var marker = (await scratch.Client.UpdateLabelsAsync(id, new Dictionary<string, string?> { ["test/marker"] = "1" })).Labels;
        await Containers.Until(() => Task.FromResult(written.Count > 0 && written.Last() == marker[StateLabels.ExitCode]), TimeSpan.FromSeconds(10), "the watch has seen every write");
        watching.Cancel();
        await watch;
        var codes = written.ToList();
        var after = codes.Skip(codes.IndexOf("137")).ToList();
        Assert.True(after.All(c => c == "137"), $"exit codes written, in order: {string.Join(", ", codes)}");
    }

    /// <summary>
    /// Holds the holder's queue for <paramref name="id"/> (as SIGSTOP held the chaos run's holder)
    /// while <paramref name="other"/> removes the container, killing its task, and creates one of
    /// the same id, not started; then <paramref name="meanwhile"/>. Returns once the holder has
    /// handled what it queued meanwhile.
    /// </summary>
    private async Task RecreateWhileHeldAsync(ContainerEngine holder, ContainerEngine other, string id, string[] command, RestartPolicy policy, Func<Task> meanwhile)
    {
        var old = holder.StateOf(id);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var held = old.Enqueue(() => gate.Task.WaitAsync(TimeSpan.FromSeconds(60)));
        try
        {
            await other.RemoveAsync(id, force: true).WaitAsync(TimeSpan.FromSeconds(30));
            await other.CreateAsync(new NewContainerRequest(id, _fx.RootFs, command, Array.Empty<string>(), new Dictionary<string, string>(), null, null, policy, false, null));
            await meanwhile();
        }
        finally
        {
            gate.TrySetResult();
        }

        await held;
        await old.Enqueue(() => Task.CompletedTask).WaitAsync(TimeSpan.FromSeconds(30));
    }
}
