using System.Diagnostics;
using PSContainerd.Containerd;
using PSContainerd.Engine;
using Xunit;

namespace PSContainerd.Tests;

/// <summary>A containerd of this collection's own, since its tests stop and restart the daemon.</summary>
public sealed class PrivateContainerdFixture : ContainerdFixture
{
    public PrivateContainerdFixture()
        : base(forcePrivate: true)
    {
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class DaemonRestartCollection : ICollectionFixture<PrivateContainerdFixture>
{
    public const string Name = "containerd-restarts";
}

/// <summary>containerd going away under a stop or a waiter (docs/failure-modes.md rows 2 and 12).</summary>
[Collection(DaemonRestartCollection.Name)]
public sealed class DaemonRestartTests
{
    private readonly PrivateContainerdFixture _fx;

    public DaemonRestartTests(PrivateContainerdFixture fx) => _fx = fx;

    private ContainerEngine Engine => _fx.Engine;

    [Fact]
    public async Task A_stop_waiting_while_containerd_restarts_completes_with_137()
    {
        string id = await _fx.NewContainerAsync("dr-stop", Containers.IgnoresTerm);
        try
        {
            var signalled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var stop = Engine.StopAsync(id, null, 3, s => { if (s.Action == "signal") signalled.TrySetResult(); });
            await signalled.Task.WaitAsync(TimeSpan.FromSeconds(10));
            int generation = Engine.MonitorGeneration;
            _fx.RunScript("restart", _fx.Dir); // inside the 3 s grace period; shims survive

            // Back within the grace period or not, the stop ends soon after containerd is back: no 5 s KillWait wasted on a SIGKILL that was never delivered.
            var r = await stop.WaitAsync(TimeSpan.FromSeconds(5));
            string steps = string.Join("\n", r.Steps);
            Assert.True(r.Outcome == StopOutcome.Stopped, steps);
            Assert.Equal(137, r.ExitCode);
            // Kill when containerd was back by the deadline; DirectKill (pidfd) when it was not.
            Assert.True(r.Escalation is StopEscalation.Kill or StopEscalation.DirectKill, steps);
            await Containers.Until(() => Task.FromResult(Engine.MonitorGeneration > generation), TimeSpan.FromSeconds(10), "the event stream resubscribed");
            Assert.Null(await _fx.Client.GetTaskAsync(id));
        }
        finally
        {
            await _fx.RemoveAsync(id);
        }
    }

    [Fact]
    public async Task A_call_made_after_containerd_came_back_never_sees_the_ended_outage()
    {
        await using var c = await TestContainer.StartAsync(_fx, "dr-e21", Containers.IgnoresTerm);
        _fx.RunScript("kill-daemon", _fx.Dir);
        await Containers.Until(async () =>
        {
            try
            {
                await Engine.WaitAsync(c.Id, WaitCondition.NotRunning, TimeSpan.FromMilliseconds(100));
                return false;
            }
            catch (ContainerdException e) when (e.Kind == ContainerdErrorKind.Unavailable)
            {
                return true;
            }
        }, TimeSpan.FromSeconds(20), "the engine reported the outage");

        _fx.RunScript("start-daemon", _fx.Dir);
        // At once, not after the engine's own reconnect: the outage is over, so no call may report it.
        var w = await Engine.WaitAsync(c.Id, WaitCondition.NotRunning, TimeSpan.FromSeconds(1));
        Assert.True(w.TimedOut);
        Assert.Equal(ContainerStatus.Running, (await Engine.GetInfoAsync(c.Id)).Status);
    }

    [Fact]
    public async Task A_shim_killed_while_containerd_is_down_is_accounted_for_when_it_is_back()
    {
        string id = await _fx.NewContainerAsync("dr-shim", Containers.IgnoresTerm);
        try
        {
            int shim = Containers.ShimPid(_fx.Namespace, id) ?? throw new InvalidOperationException("no shim found for " + id);
            var wait = Engine.WaitAsync(id, WaitCondition.NotRunning, null);
            _fx.RunScript("kill-daemon", _fx.Dir);
            Process.GetProcessById(shim).Kill();
            await Containers.Until(() => Task.FromResult(!Containers.Alive(shim)), TimeSpan.FromSeconds(5), "the shim gone");
            _fx.RunScript("start-daemon", _fx.Dir);
            var back = Stopwatch.StartNew();

            var w = await wait.WaitAsync(TimeSpan.FromSeconds(15));
            Assert.True(back.Elapsed < TimeSpan.FromSeconds(5), $"the exit arrived {back.Elapsed} after containerd came back");
            Assert.Contains(w.ExitCode, new int?[] { 137, 255 });
            await Containers.Until(async () => await _fx.Client.GetTaskAsync(id) is null, TimeSpan.FromSeconds(10), "the task cleaned up");
        }
        finally
        {
            await _fx.RemoveAsync(id);
        }
    }

    [Fact]
    public async Task An_exit_lost_while_containerd_was_down_is_found_by_resync_not_by_a_timeout()
    {
        string id = await _fx.NewContainerAsync("dr-lost", Containers.IgnoresTerm);
        try
        {
            int pid = (int)(await _fx.Client.GetTaskAsync(id))!.Pid;
            var wait = Engine.WaitAsync(id, WaitCondition.NotRunning, null);
            _fx.RunScript("kill-daemon", _fx.Dir);
            Process.GetProcessById(pid).Kill();
            await Containers.Until(() => Task.FromResult(!Containers.Alive(pid)), TimeSpan.FromSeconds(5), "the init process gone");

            // The shim gives up publishing the exit after ~20 s (containerd#6771): this outage is the scenario.
            await Task.Delay(TimeSpan.FromSeconds(25));
            Assert.False(wait.IsCompleted, "the waiter returned while containerd was down");
            _fx.RunScript("start-daemon", _fx.Dir);
            var back = Stopwatch.StartNew();

            var w = await wait.WaitAsync(TimeSpan.FromSeconds(15));
            Assert.True(back.Elapsed < TimeSpan.FromSeconds(5), $"the exit arrived {back.Elapsed} after containerd came back");
            Assert.Equal(137, w.ExitCode);
            Assert.False(w.TimedOut);

            // A fresh engine's restore agrees and finds nothing left to do.
            await using var fresh = ContainerEngine.CreateUnshared(_fx.Address, _fx.Namespace);
            var r = await fresh.RestoreOneAsync(id, stopRunning: false);
            Assert.Equal(RestoreAction.Unchanged, r.Action);
            Assert.Equal(137, r.ExitCode);
        }
        finally
        {
            await _fx.RemoveAsync(id);
        }
    }

    [Fact]
    public async Task A_container_deleted_while_the_event_stream_was_down_wakes_its_Removed_waiters()
    {
        string id = await _fx.NewContainerAsync("dr-e14", Containers.IgnoresTerm);
        bool removed = false;
        try
        {
            var gone = Engine.WaitAsync(id, WaitCondition.Removed, TimeSpan.FromSeconds(60));
            int generation = Engine.MonitorGeneration;
            _fx.RunScript("kill-daemon", _fx.Dir);
            // The outage is the scenario: long enough for the engine's resubscribe backoff to grow
            // past the few hundred milliseconds the delete below takes.
            await Task.Delay(TimeSpan.FromSeconds(3));
            _fx.RunScript("start-daemon", _fx.Dir);

            // Another process deletes the container as soon as containerd answers.
            await _fx.Client.KillAsync(id, 9, all: true);
            using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
            {
                await _fx.Client.WaitAsync(id, cts.Token);
            }

            await _fx.Client.DeleteTaskAsync(id);
            await _fx.Client.DeleteContainerAsync(id);
            removed = true;
            bool missed = Engine.MonitorGeneration == generation;

            var w = await gone.WaitAsync(TimeSpan.FromSeconds(15));
            Assert.False(w.TimedOut, $"the Removed waiter timed out (deleted while the stream was down: {missed})");
            var e = await Assert.ThrowsAsync<ContainerLookupException>(() => Engine.StopAsync(id, null, 1, null));
            Assert.Equal(LookupFailure.NotFound, e.Failure);
        }
        finally
        {
            if (!removed)
            {
                await _fx.RemoveAsync(id);
            }
        }
    }

    [Fact]
    public async Task Chaos_seed_20261128_a_task_create_cut_short_by_a_containerd_restart_does_not_wedge_the_container()
    {
        // containerd killed while a task create is in flight keeps a task it neither lists nor
        // reports (Get: not found) while every create answers "already exists".
        await AssertCutCreateDoesNotWedgeAsync(
            "dr-leak",
            _ =>
            {
                Process.GetProcessById(int.Parse(File.ReadAllText(Path.Combine(_fx.Dir, "containerd.pid")).Trim(), System.Globalization.CultureInfo.InvariantCulture)).Kill();
                return Task.CompletedTask;
            },
            () => _fx.RunScript("start-daemon", _fx.Dir),
            e => e.Kind == ContainerdErrorKind.AlreadyExists,
            "no kill during a task create left containerd holding a task it does not report");
    }

    [Fact]
    public async Task Chaos_seed_2_a_task_create_cut_short_by_its_caller_going_away_does_not_fail_the_next_start()
    {
        // A pwsh killed while its task create is in flight: containerd's context for the create is
        // cancelled, it drops the task from its list, and spends up to two 5-second cleanup timeouts
        // tearing the shim down, while every create answers "failed to start shim: mkdir …: file
        // exists". Cancelling the create's RPC from here is the same cut.
        await AssertCutCreateDoesNotWedgeAsync(
            "dr-cut",
            caller => caller.CancelAsync(),
            () => { },
            TaskCleanup.IsLeftoverBundle,
            "no cut during a task create left its shim and bundle behind");
    }

    [Fact]
    public async Task Chaos_seed_20261204_a_start_whose_record_meets_a_containerd_restart_is_recorded_once_containerd_is_back()
    {
        // containerd restarted between a task's start and the label write that records it: the
        // write was given up at once (a Diagnostic), the labels kept what was before, and a policy
        // restart's count stayed behind, so on-failure:3 restarted a fourth time.
        string id = await _fx.NewContainerAsync("dr-rec", Containers.Cooperative, start: false);
        try
        {
            Engine.BeforeRecordStart = cid =>
            {
                if (cid == id)
                {
                    _fx.RunScript("kill-daemon", _fx.Dir);
                    _ = Task.Run(async () =>
                    {
                        await Task.Delay(TimeSpan.FromSeconds(1));
                        _fx.RunScript("start-daemon", _fx.Dir);
                    });
                }

                return Task.CompletedTask;
            };
            var info = await Engine.StartAsync(id).WaitAsync(TimeSpan.FromSeconds(60));
            Engine.BeforeRecordStart = null;
            Assert.Equal(ContainerStatus.Running, info.Status);
            var labels = (await _fx.Client.GetContainerAsync(id)).Labels;
            Assert.Equal(StateLabels.StateRunning, labels.GetValueOrDefault(StateLabels.State));
            Assert.Equal("0", labels.GetValueOrDefault(StateLabels.RestartCount));
        }
        finally
        {
            Engine.BeforeRecordStart = null;
            await _fx.RemoveAsync(id);
        }
    }

    /// <summary>
    /// Cuts a task create (<paramref name="cut"/>, then <paramref name="afterCut"/> once the create
    /// has returned) at a later moment each try (bounded at 90 s), until the next create is refused as
    /// <paramref name="leftover"/> says; then a start through the engine must run the container.
    /// The other kind of leftover, if a cut leaves it, is waited out and the tries go on.
    /// </summary>
    private async Task AssertCutCreateDoesNotWedgeAsync(string name, Func<CancellationTokenSource, Task> cut, Action afterCut, Func<ContainerdException, bool> leftover, string notFound)
    {
        string id = await _fx.NewContainerAsync(name, Containers.Cooperative, start: false);
        try
        {
            bool found = false;
            var clock = Stopwatch.StartNew();
            // Later and later cuts, round again from the start while time is left: under load the
            // create's stages move, and a cut that left nothing one round may leave it the next.
            for (int delay = 5; !found && clock.Elapsed < TimeSpan.FromSeconds(90); delay = delay >= 600 ? 5 : delay + 5)
            {
                using (var caller = new CancellationTokenSource())
                {
                    var create = _fx.Client.CreateTaskAsync(id, ct: caller.Token);
                    await Task.Delay(delay); // the race itself: where in the create the cut lands
                    await cut(caller);
                    try
                    {
                        await create.WaitAsync(TimeSpan.FromSeconds(30));
                    }
                    catch (Exception e) when (e is ContainerdException or OperationCanceledException or TimeoutException)
                    {
                    }
                }

                afterCut();
                if (await _fx.Client.GetTaskAsync(id) is not null)
                {
                    // The create went through (or containerd reloaded it): clean up and cut later.
                    await _fx.Client.KillAsync(id, 9, all: true).ContinueWith(_ => { });
                    await _fx.Client.DeleteTaskAsync(id).ContinueWith(_ => { });
                    continue;
                }

                try
                {
                    await _fx.Client.CreateTaskAsync(id);
                    await _fx.Client.DeleteTaskAsync(id); // nothing left behind this time
                }
                catch (ContainerdException e) when (leftover(e))
                {
                    found = true;
                }
                catch (ContainerdException e) when (e.Kind == ContainerdErrorKind.AlreadyExists || TaskCleanup.IsLeftoverBundle(e))
                {
                    // The other leftover: not the state under test. Clear it and cut later.
                    await _fx.Client.CreateTaskThroughLeftoversAsync(id, null, _ => { }, CancellationToken.None);
                    await _fx.Client.DeleteTaskAsync(id);
                }
            }

            Assert.True(found, notFound);
            var info = await Engine.StartAsync(id).WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(ContainerStatus.Running, info.Status);
            Assert.Equal(Containerd.TaskStatus.Running, (await _fx.Client.GetTaskAsync(id))?.Status);
        }
        finally
        {
            await _fx.RemoveAsync(id);
        }
    }
}
