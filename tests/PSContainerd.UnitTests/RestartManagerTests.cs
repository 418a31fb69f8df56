using PSContainerd.Engine;
using Xunit;

namespace PSContainerd.UnitTests;

/// <summary>The restart policy as moby's restartmanager: a decision and a backoff, nothing started.</summary>
public sealed class RestartManagerTests
{
    private static readonly RestartPolicy Always = new(RestartPolicyKind.Always);

    [Fact]
    public void Backoff_starts_at_100_ms_doubles_and_caps_at_a_minute()
    {
        var m = new RestartManager();
        var seen = Enumerable.Range(0, 12).Select(_ => m.ShouldRestart(Always, 1, false, 0, TimeSpan.FromMilliseconds(300))).ToList();
        Assert.All(seen, d => Assert.True(d.Restart));
        Assert.Equal(new[] { 100, 200, 400, 800, 1600 }, seen.Take(5).Select(d => (int)d.After.TotalMilliseconds));
        Assert.Equal(TimeSpan.FromMinutes(1), seen[^1].After);
    }

    [Fact]
    public void A_run_of_ten_seconds_resets_the_backoff()
    {
        var m = new RestartManager();
        m.ShouldRestart(Always, 1, false, 0, TimeSpan.Zero);
        m.ShouldRestart(Always, 1, false, 0, TimeSpan.Zero);
        Assert.Equal(TimeSpan.FromMilliseconds(400), m.ShouldRestart(Always, 1, false, 0, TimeSpan.FromSeconds(1)).After);
        Assert.Equal(TimeSpan.FromMilliseconds(100), m.ShouldRestart(Always, 1, false, 0, TimeSpan.FromSeconds(10)).After);
    }

    [Fact]
    public void A_manual_start_resets_the_backoff()
    {
        var m = new RestartManager();
        m.ShouldRestart(Always, 1, false, 0, TimeSpan.Zero);
        m.ShouldRestart(Always, 1, false, 0, TimeSpan.Zero);
        m.Reset();
        Assert.Equal(TimeSpan.FromMilliseconds(100), m.ShouldRestart(Always, 1, false, 0, TimeSpan.Zero).After);
    }

    [Theory]
    [InlineData("always", 0, false, 0, true)]
    [InlineData("always", 137, true, 0, false)]
    [InlineData("unless-stopped", 1, false, 5, true)]
    [InlineData("unless-stopped", 1, true, 0, false)]
    [InlineData("on-failure", 0, false, 0, false)]
    [InlineData("on-failure", 1, false, 100, true)]
    [InlineData("on-failure:2", 1, false, 1, true)]
    [InlineData("on-failure:2", 1, false, 2, false)]
    [InlineData("on-failure:2", 1, true, 0, false)]
    [InlineData("no", 1, false, 0, false)]
    public void Decides_as_moby(string policy, int exitCode, bool manual, int count, bool restart)
    {
        Assert.True(RestartPolicy.TryParse(policy, out var p));
        var d = new RestartManager().ShouldRestart(p, exitCode, manual, count, TimeSpan.Zero);
        Assert.Equal(restart, d.Restart);
        Assert.Equal(restart ? TimeSpan.FromMilliseconds(100) : TimeSpan.Zero, d.After);
    }

    [Fact]
    public void A_no_leaves_the_backoff_where_it_was()
    {
        var m = new RestartManager();
        m.ShouldRestart(Always, 1, false, 0, TimeSpan.Zero);
        Assert.False(m.ShouldRestart(Always, 1, true, 0, TimeSpan.Zero).Restart);
        Assert.Equal(TimeSpan.FromMilliseconds(100), m.Backoff);
    }

    [Fact]
    public void Labels_decide_policy_manual_flag_and_count()
    {
        var labels = new Dictionary<string, string>
        {
            [StateLabels.RestartPolicy] = "on-failure:3",
            [StateLabels.RestartCount] = "3",
        };
        Assert.False(RecordedState.Of(labels).WouldRestart(1, false));
        labels[StateLabels.RestartCount] = "2";
        Assert.True(RecordedState.Of(labels).WouldRestart(1, false));
        labels[StateLabels.ManuallyStopped] = "true";
        Assert.False(RecordedState.Of(labels).WouldRestart(1, false));
        Assert.Equal(RestartPolicy.No, RecordedState.Of(new Dictionary<string, string> { [StateLabels.RestartPolicy] = "sometimes" }).Policy);
    }

    [Theory]
    [InlineData("no")]
    [InlineData("always")]
    [InlineData("unless-stopped")]
    [InlineData("on-failure")]
    [InlineData("on-failure:5")]
    public void Policies_round_trip(string text)
    {
        Assert.True(RestartPolicy.TryParse(text, out var p));
        Assert.Equal(text, p.ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("on-failure:-1")]
    [InlineData("on-failure:x")]
    [InlineData("always:3")]
    [InlineData("sometimes")]
    public void Garbage_does_not_parse(string text) => Assert.False(RestartPolicy.TryParse(text, out _));
}

/// <summary>Restore-ContainerState's rule for a container it finds not running.</summary>
public sealed class RestoreRuleTests
{
    private static readonly RestartPolicy Always = new(RestartPolicyKind.Always);
    private static readonly RestartPolicy UnlessStopped = new(RestartPolicyKind.UnlessStopped);

    [Fact]
    public void Always_restarts_after_a_manual_stop_only_when_the_host_restarted_since()
    {
        Assert.False(Always.ShouldRestartOnRestore(0, manuallyStopped: true, 0, hostRestartedSinceStop: false));
        Assert.True(Always.ShouldRestartOnRestore(0, manuallyStopped: true, 0, hostRestartedSinceStop: true));
        Assert.True(Always.ShouldRestartOnRestore(0, manuallyStopped: false, 0, hostRestartedSinceStop: false));
    }

    [Fact]
    public void Unless_stopped_never_restarts_after_a_manual_stop()
    {
        Assert.False(UnlessStopped.ShouldRestartOnRestore(0, manuallyStopped: true, 0, hostRestartedSinceStop: true));
        Assert.True(UnlessStopped.ShouldRestartOnRestore(3, manuallyStopped: false, 0, hostRestartedSinceStop: false));
    }

    [Fact]
    public void The_host_restarted_since_an_exit_recorded_before_its_boot_and_unknown_times_say_no()
    {
        var boot = new DateTime(2026, 11, 28, 12, 0, 0, DateTimeKind.Utc);
        Assert.True(RestartManager.HostRestartedSince(boot.AddMinutes(-1), boot));
        Assert.False(RestartManager.HostRestartedSince(boot.AddMinutes(1), boot));
        Assert.False(RestartManager.HostRestartedSince(null, boot));
        Assert.False(RestartManager.HostRestartedSince(boot.AddMinutes(-1), null));
    }

    [Fact]
    public void The_boot_time_is_read_from_the_btime_line()
    {
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1795870000).UtcDateTime, HostBoot.Parse(new[] { "cpu  1 2 3", "btime 1795870000", "processes 9" }));
        Assert.Null(HostBoot.Parse(new[] { "cpu  1 2 3" }));
        Assert.NotNull(HostBoot.Time);
    }
}
