using PSContainerd.Engine;
using Xunit;

namespace PSContainerd.UnitTests;

/// <summary>A process told apart from a later one with its pid: pid + start time (field 22 of /proc/PID/stat).</summary>
public sealed class ProcessIdentityTests
{
    [Fact]
    public void Field_22_is_read_after_a_comm_with_spaces_and_parentheses()
    {
        const string stat = "4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 200 0 0 0 3 1 0 0 20 0 1 0 987654 1000000 100 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
        var id = ProcessIdentity.Parse(4242, stat, out bool dead);
        Assert.False(dead);
        Assert.Equal(new ProcessIdentity(4242, 987654), id);
    }

    [Fact]
    public void A_zombie_is_dead()
    {
        const string stat = "7 (sh) Z 1 7 7 0 -1 4194560 200 0 0 0 3 1 0 0 20 0 1 0 555 0 0 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
        ProcessIdentity.Parse(7, stat, out bool dead);
        Assert.True(dead);
    }

    [Fact]
    public void This_process_is_alive_and_a_reused_pid_is_not_its_owner()
    {
        var me = ProcessIdentity.Current();
        Assert.NotNull(me.StartTicks);
        Assert.True(me.IsAlive);
        Assert.False((me with { StartTicks = me.StartTicks + 1 }).IsAlive);
    }

    [Fact]
    public void Round_trips_as_written_in_a_stop_intent()
    {
        var id = new ProcessIdentity(123, 456);
        Assert.Equal("123:456", id.ToString());
        Assert.Equal(id, ProcessIdentity.TryParse(id.ToString()));
        Assert.Equal(new ProcessIdentity(123, null), ProcessIdentity.TryParse("123"));
        Assert.Null(ProcessIdentity.TryParse("x"));
    }

    [Fact]
    public void A_stop_intent_keeps_its_owner_identity_and_reads_the_old_pid_only_form()
    {
        var intent = new RecordedStopIntent(15, 10, null, new ProcessIdentity(99, 12345));
        var back = RecordedStopIntent.Parse(intent.ToString());
        Assert.Equal(intent, back);
        var old = RecordedStopIntent.Parse("15;10;never;1234");
        Assert.Equal(new ProcessIdentity(1234, null), old!.Owner);
    }
}
