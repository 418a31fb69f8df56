using PSContainerd.Engine;
using Xunit;

namespace PSContainerd.UnitTests;

/// <summary>The pure parts of a stop's signal routes and timeline (the routes themselves are proven against containerd in SignalRouteTests).</summary>
public sealed class SignalRouteUnitTests
{
    [Theory]
    [InlineData(1, true, "refused (EPERM)")]
    [InlineData(13, true, "refused (EACCES)")]
    [InlineData(3, false, "process already exited")]
    [InlineData(9, false, "handle closed")]
    [InlineData(22, false, "pidfd_send_signal failed: errno 22")]
    public void A_pidfd_signal_errno_is_told_apart_and_named(int errno, bool refusal, string text)
    {
        Assert.Equal(refusal, InitProcessHandle.IsRefusal(errno));
        Assert.Equal(text, InitProcessHandle.Describe(errno));
    }

    [Theory]
    [InlineData("NSpid:\t4711\t1", true)]
    [InlineData("NSpid:\t4711\t93\t1", true)]
    [InlineData("NSpid:\t4711\t12", false)]
    [InlineData("NSpid:\t4711", false)]
    [InlineData(null, false)]
    public void Only_PID_1_of_a_pid_namespace_of_its_own_takes_the_rest_with_it(string? line, bool leads) =>
        Assert.Equal(leads, InitProcessHandle.ParseLeadsPidNamespace(line));

    [Fact]
    public void A_step_names_no_route_unless_it_is_a_signal_sent_one_way()
    {
        var timeline = new StopTimeline();
        timeline.Add(StopStepKind.Timeout, "grace period over");
        timeline.Add(StopStepKind.Kill, "SIGKILL to the init process (pid 7) through its pidfd", SignalRoute.Pidfd);
        var steps = timeline.Snapshot();
        Assert.Equal(SignalRoute.None, steps[0].Route);
        Assert.Equal(SignalRoute.Pidfd, steps[1].Route);
        Assert.Equal("kill", steps[1].Action);
    }

    [Fact]
    public void An_observer_that_throws_neither_loses_the_step_nor_silences_the_others()
    {
        var timeline = new StopTimeline();
        var seen = new List<StopStep>();
        timeline.StepAdded += _ => throw new InvalidOperationException("the job's streams are closed");
        timeline.StepAdded += seen.Add;

        timeline.Add(StopStepKind.Signal, "SIGTERM to the init process (pid 7) through its pidfd", SignalRoute.Pidfd);

        var step = Assert.Single(timeline.Snapshot());
        Assert.Same(step, Assert.Single(seen));
    }
}
