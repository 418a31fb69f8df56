using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using PSContainerd.Containerd;
using PSContainerd.Containerd.Api.Events;
using PSContainerd.Engine;
using Xunit;
using E = PSContainerd.Containerd.Api.EventTypes;

namespace PSContainerd.UnitTests;

/// <summary>Small pure parts: step names, container state transitions, grace period bounds, event decoding.</summary>
public sealed class PureEngineTests
{
    [Theory]
    [InlineData(StopStepKind.DirectKill, "direct-kill")]
    [InlineData(StopStepKind.RestartCancelled, "restart-cancelled")]
    [InlineData(StopStepKind.RecordIntent, "record-intent")]
    [InlineData(StopStepKind.AlreadyStopped, "already-stopped")]
    [InlineData(StopStepKind.Signal, "signal")]
    [InlineData(StopStepKind.GaveUp, "gave-up")]
    public void Step_kinds_keep_the_timeline_spelling(StopStepKind kind, string action) =>
        Assert.Equal(action, new StopStep(DateTime.UtcNow, kind, string.Empty).Action);

    [Theory]
    [InlineData(ContainerdErrorKind.DeadlineExceeded, "did not answer in time", true)]
    [InlineData(ContainerdErrorKind.Unavailable, "connection refused", true)]
    [InlineData(ContainerdErrorKind.Unknown, "context deadline exceeded: unknown", true)] // containerd 1.6, frozen shim (seen)
    [InlineData(ContainerdErrorKind.Unknown, "unknown error after kill: runc did not terminate successfully: exit status 1: permission denied", false)]
    [InlineData(ContainerdErrorKind.FailedPrecondition, "not running", false)]
    public void A_signal_that_timed_out_may_have_been_delivered(ContainerdErrorKind kind, string message, bool maybe) =>
        Assert.Equal(maybe, SignalRouter.MayHaveBeenDelivered(new ContainerdException(kind, "/run/containerd/containerd.sock", message)));

    [Theory]
    [InlineData("failed to start shim: mkdir /tmp/pscd/state/io.containerd.runtime.v2.task/default/cx0: file exists: unknown", true)]
    // CI, seed-2 test: the new shim found the old one's socket still accepting and handed its address over.
    [InlineData("failed to start shim: start failed: dial unix /run/containerd/s/9e64d82b6d236a6471c753f1a5ba346795a0f85e96716588c3d3f9bb64393757: connect: connection refused: unknown", true)]
    // A start by another engine right after a stop that returned at /tasks/delete: the old bundle's removal took the new one's folder.
    [InlineData("failed to start shim: start failed: io.containerd.runc.v2: rename /tmp/pscd-sp/state/io.containerd.runtime.v2.task/xunit-26467/sretot-29dccd66/.address /tmp/pscd-sp/state/io.containerd.runtime.v2.task/xunit-26467/sretot-29dccd66/address: no such file or directory: exit status 1", true)]
    [InlineData("failed to start shim: exec: \"containerd-shim-runc-v2\": executable file not found in $PATH: unknown", false)]
    [InlineData("failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: \"/bin/nosuch\": stat /bin/nosuch: no such file or directory: unknown", false)]
    public void A_create_refused_by_a_shim_still_closing_is_told_from_other_refusals(string message, bool leftover) =>
        Assert.Equal(leftover, TaskCleanup.IsLeftoverBundle(new ContainerdException(ContainerdErrorKind.Unknown, "/run/containerd/containerd.sock", message)));

    [Theory]
    [InlineData(ContainerdErrorKind.Unknown, "cannot delete a running process: unknown", true)] // containerd 1.6, a delete before the shim reaped the process
    [InlineData(ContainerdErrorKind.FailedPrecondition, "task must be stopped before deletion: running: failed precondition", false)]
    [InlineData(ContainerdErrorKind.Unknown, "ttrpc: closed: unknown", false)]
    public void The_client_tells_a_delete_of_a_process_not_yet_reaped_by_its_text_only_where_containerd_gives_no_code(ContainerdErrorKind kind, string message, bool running) =>
        Assert.Equal(running, new ContainerdException(kind, "/run/containerd/containerd.sock", message).ProcessStillRunning);

    [Fact]
    public void Warnings_are_the_warning_steps()
    {
        var r = new StopResult { Steps = new[] { new StopStep(DateTime.UtcNow, StopStepKind.Warning, "bad label"), new StopStep(DateTime.UtcNow, StopStepKind.Signal, "SIGTERM") } };
        Assert.Equal(new[] { "bad label" }, r.Warnings);
    }

    [Fact]
    public void An_oom_of_the_previous_run_does_not_leak_into_the_next()
    {
        var s = new ContainerState("c");
        s.SetRunning(10, DateTime.UtcNow);
        s.MarkOom();
        s.SetExited(new RecordedExit(137, DateTime.UtcNow, true), restarting: false);
        s.MarkOom(); // a late /tasks/oom of the old run
        s.SetRunning(11, DateTime.UtcNow);
        Assert.False(s.OomSeen);
    }

    [Fact]
    public async Task A_cancelled_restart_wakes_next_exit_waiters()
    {
        var s = new ContainerState("c");
        s.SetRunning(10, DateTime.UtcNow);
        s.SetExited(new RecordedExit(1, DateTime.UtcNow, false), restarting: true);
        var next = s.WaitTask(WaitCondition.NextExit);
        Assert.False(next.IsCompleted);
        s.SetStopped();
        var exit = await next.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(1, exit!.ExitCode);
        Assert.Equal(ContainerStatus.Stopped, s.Status);
    }

    [Fact]
    public void Labels_refresh_the_manual_flag_both_ways()
    {
        var s = new ContainerState("c");
        s.RefreshLabels(new Dictionary<string, string> { [StateLabels.ManuallyStopped] = "true" });
        Assert.True(s.ManuallyStopped);
        s.RefreshLabels(new Dictionary<string, string>());
        Assert.False(s.ManuallyStopped);
    }

    [Fact]
    public void A_run_started_here_remembers_when_it_began_until_another_run_replaces_it()
    {
        var s = new ContainerState("c");
        var before = DateTime.UtcNow;
        s.SetRunning(10, before.AddMilliseconds(20), notBefore: before);
        s.SetRunning(10, before.AddMilliseconds(30)); // the /tasks/start of the same run
        Assert.Equal(before, s.RunNotBefore);
        s.SetExited(new RecordedExit(0, DateTime.UtcNow, false), restarting: false);
        s.SetRunning(11, DateTime.UtcNow); // a run someone else started
        Assert.Null(s.RunNotBefore);
    }

    [Fact]
    public void A_pending_restart_is_taken_once()
    {
        var s = new ContainerState("c");
        var pending = new PendingRestarts();
        Assert.False(pending.Has(s));
        var cts = pending.Pend(s);
        Assert.True(pending.Has(s));
        Assert.True(pending.Take(s, cts));
        Assert.False(pending.Take(s, cts));
        Assert.False(pending.Has(s));
    }

    [Fact]
    public void A_newer_pending_restart_cancels_the_one_it_replaces_and_only_it_can_be_taken()
    {
        var s = new ContainerState("c");
        var pending = new PendingRestarts();
        var first = pending.Pend(s);
        var second = pending.Pend(s);
        Assert.True(first.IsCancellationRequested);
        Assert.False(pending.Take(s, first));
        Assert.True(pending.Cancel(s));
        Assert.True(second.IsCancellationRequested);
        Assert.False(pending.Take(s, second));
        Assert.False(pending.Cancel(s));
    }

    [Fact]
    public async Task A_timeout_past_what_a_timer_can_hold_waits_for_ever_instead_of_throwing()
    {
        var grace = new GracePeriod();
        grace.StartAt(DateTime.UtcNow, int.MaxValue);
        var exited = new TaskCompletionSource();
        var wait = grace.WaitAsync(exited.Task);
        await Task.Delay(200);
        Assert.False(wait.IsCompleted);
        exited.SetResult();
        Assert.True(await wait.WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task A_joiner_brings_a_long_grace_period_forward()
    {
        var grace = new GracePeriod();
        grace.StartAt(DateTime.UtcNow, 3600);
        var wait = grace.WaitAsync(new TaskCompletionSource().Task);
        Assert.True(grace.BringForward(DateTime.UtcNow.AddMilliseconds(100)));
        Assert.False(await wait.WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public void A_container_update_event_carries_its_labels()
    {
        var update = new E.ContainerUpdate { Id = "web" };
        update.Labels.Add(StateLabels.ManuallyStopped, "true");
        var env = new Envelope
        {
            Timestamp = Timestamp.FromDateTime(DateTime.UtcNow),
            Namespace = "default",
            Topic = "/containers/update",
            Event = new Any { TypeUrl = "containerd.events.ContainerUpdate", Value = update.ToByteString() },
        };
        var ev = Assert.IsType<ContainerLifecycleEvent>(EventDecoder.Decode(env));
        Assert.Equal("web", ev.ContainerId);
        Assert.Equal("true", ev.Labels![StateLabels.ManuallyStopped]);
    }
}
