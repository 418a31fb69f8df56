using PSContainerd.Engine;
using Xunit;

namespace PSContainerd.UnitTests;

/// <summary>A recorded restart-due time, which a clock step or a hand-set label can put anywhere.</summary>
public sealed class RestartDueTests
{
    private static readonly DateTime Now = new(2026, 12, 3, 8, 0, 0, DateTimeKind.Utc);

    [Theory]
    [InlineData(50.0)]     // past what a timer holds (~49.7 days)
    [InlineData(3650.0)]   // a clock stepped back ten years
    [InlineData(0.001)]    // ~86 s: just past the longest backoff
    public void A_restart_due_beyond_the_longest_backoff_is_carried_out_after_the_longest_backoff(double days)
    {
        var due = Now.AddDays(days);
        var at = RestartManager.ClampDue(due, Now, out bool clamped);
        Assert.True(clamped);
        Assert.Equal(Now + RestartManager.MaxBackoff, at);
        // What the restart waits then: a delay a timer can hold.
        _ = Task.Delay(at - Now, new CancellationToken(canceled: true));
    }

    [Theory]
    [InlineData(-3600.0)]  // overdue: at once
    [InlineData(0.0)]
    [InlineData(30.0)]
    [InlineData(60.0)]     // exactly the longest backoff
    public void A_restart_due_within_the_longest_backoff_keeps_its_time(double seconds)
    {
        var due = Now.AddSeconds(seconds);
        Assert.Equal(due, RestartManager.ClampDue(due, Now, out bool clamped));
        Assert.False(clamped);
    }
}
