using PSContainerd.Engine;
using Xunit;

namespace PSContainerd.UnitTests;

/// <summary>The restart count label, which can be set by hand: read within 0..int.MaxValue, counted on without wrapping.</summary>
public sealed class RestartCountTests
{
    [Theory]
    [InlineData("-5", 0)]
    [InlineData("-2147483648", 0)]
    [InlineData("2147483647", int.MaxValue)]
    [InlineData("99999999999", int.MaxValue)]
    [InlineData("abc", 0)]
    [InlineData("7", 7)]
    public void A_hand_set_restart_count_is_read_as_zero_when_negative_and_saturates_when_too_large(string label, int expected)
    {
        var labels = new Dictionary<string, string> { [StateLabels.RestartCount] = label };
        Assert.Equal(expected, RecordedState.Of(labels).RestartCount);
    }

    [Fact]
    public void A_huge_hand_set_restart_count_spends_an_on_failure_policy_instead_of_restarting_from_zero()
    {
        var labels = new Dictionary<string, string>
        {
            [StateLabels.RestartPolicy] = "on-failure:3",
            [StateLabels.RestartCount] = "99999999999",
        };
        Assert.False(RecordedState.Of(labels).WouldRestart(1, manuallyStopped: false));
    }

    [Fact]
    public void The_next_restart_count_saturates_at_the_int_maximum_instead_of_wrapping_negative()
    {
        var labels = new Dictionary<string, string> { [StateLabels.RestartCount] = int.MaxValue.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        Assert.Equal(int.MaxValue, RecordedState.Of(labels).NextRestartCount);
        Assert.Equal(8, RecordedState.Of(new Dictionary<string, string> { [StateLabels.RestartCount] = "7" }).NextRestartCount);
        Assert.Equal(1, RecordedState.Of(new Dictionary<string, string> { [StateLabels.RestartCount] = "-5" }).NextRestartCount);
    }
}
