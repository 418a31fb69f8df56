using PSContainerd.Containerd;
using PSContainerd.Engine;
using TaskStatus = PSContainerd.Containerd.TaskStatus;
using Xunit;

namespace PSContainerd.UnitTests;

/// <summary>
/// Which containers the restart supervisor's holder picks up when it takes the duty or its event
/// stream reconnects: decided from the labels and the task as containerd records them.
/// </summary>
public sealed class SupervisorSweepTests
{
    private static readonly DateTime Started = new(2026, 1, 1, 10, 0, 0, DateTimeKind.Utc);

    private static Dictionary<string, string> Labels(string state, string policy = "unless-stopped", params (string Key, string Value)[] more)
    {
        var l = new Dictionary<string, string>
        {
            [StateLabels.State] = state,
            [StateLabels.RestartPolicy] = policy,
            [StateLabels.StartedAt] = StateLabels.FormatTime(Started),
        };
        foreach (var (k, v) in more)
        {
            l[k] = v;
        }

        return l;
    }

    private static TaskInfo Stopped(uint code) => new("c", 42, TaskStatus.Stopped, code, Started.AddSeconds(5));

    private static (string, string)[] Exit(int code, DateTime at) =>
        new[] { (StateLabels.ExitCode, code.ToString(System.Globalization.CultureInfo.InvariantCulture)), (StateLabels.ExitedAt, StateLabels.FormatTime(at)) };

    [Fact]
    public void An_exit_nobody_finalised_is_picked_up_when_the_policy_restarts_it()
    {
        Assert.True(ContainerEngine.NeedsSupervisor(Labels(StateLabels.StateRunning), Stopped(11)));
        Assert.False(ContainerEngine.NeedsSupervisor(Labels(StateLabels.StateRunning, "no"), Stopped(11)));
        Assert.False(ContainerEngine.NeedsSupervisor(Labels(StateLabels.StateRunning, "on-failure:3"), Stopped(0)));
    }

    [Fact]
    public void An_exit_recorded_by_an_engine_without_the_duty_is_picked_up()
    {
        Assert.True(ContainerEngine.NeedsSupervisor(Labels(StateLabels.StateRunning, "always", Exit(3, Started.AddSeconds(1))), null));
    }

    [Fact]
    public void An_exit_of_an_earlier_run_or_no_exit_at_all_is_left_to_restore()
    {
        // The recorded exit is older than the run: the run's task vanished with nothing recorded (a reboot).
        Assert.False(ContainerEngine.NeedsSupervisor(Labels(StateLabels.StateRunning, "always", Exit(3, Started.AddSeconds(-30))), null));
        Assert.False(ContainerEngine.NeedsSupervisor(Labels(StateLabels.StateRunning, "always"), null));
    }

    [Fact]
    public void A_manual_stop_or_a_running_task_is_never_picked_up()
    {
        Assert.False(ContainerEngine.NeedsSupervisor(Labels(StateLabels.StateRunning, "always", (StateLabels.ManuallyStopped, "true")), Stopped(1)));
        Assert.False(ContainerEngine.NeedsSupervisor(Labels(StateLabels.StateRunning), new TaskInfo("c", 42, TaskStatus.Running, 0, null)));
        Assert.False(ContainerEngine.NeedsSupervisor(Labels(StateLabels.StateStopped, "always"), Stopped(1)));
    }

    [Fact]
    public void A_pending_restart_is_carried_out_and_foreign_containers_are_ignored()
    {
        Assert.True(ContainerEngine.NeedsSupervisor(Labels(StateLabels.StateRestarting), null));
        Assert.False(ContainerEngine.NeedsSupervisor(new Dictionary<string, string> { ["io.containerd.image.name"] = "x" }, Stopped(1)));
    }
}
