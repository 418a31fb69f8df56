using PSContainerd.Engine;
using Xunit;

namespace PSContainerd.UnitTests;

/// <summary>
/// The one reading of a signal the user types (-Signal, -StopSignal of every cmdlet, through
/// SignalArgument): names as <c>kill -l</c> knows them, real-time offsets, numbers 1..64.
/// </summary>
public sealed class SignalParsingTests
{
    [Theory]
    [InlineData("SIGTERM", 15)]
    [InlineData("term", 15)]
    [InlineData("Sigkill", 9)]
    [InlineData("15", 15)]
    [InlineData(" 9 ", 9)]
    [InlineData("64", 64)]
    [InlineData("SIGIOT", 6)]
    [InlineData("POLL", 29)]
    [InlineData("RTMIN", 34)]
    [InlineData("SIGRTMIN+2", 36)]
    [InlineData("RTMAX", 64)]
    [InlineData("RTMAX-1", 63)]
    [InlineData("RTMAX-30", 34)]
    [InlineData("RTMIN+30", 64)]
    public void A_name_or_number_is_its_signal(string text, int expected)
    {
        Assert.True(Signals.TryParse(text, out int signal));
        Assert.Equal(expected, signal);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("  ")]
    [InlineData("0")]
    [InlineData("65")]
    [InlineData("-9")]
    [InlineData("+9")]
    [InlineData("SIGFOO")]
    [InlineData("SIG")]
    [InlineData("RTMIN+31")]
    [InlineData("RTMAX+1")]
    [InlineData("RTMIN-1")]
    [InlineData("RTMAX-31")]
    [InlineData("RTMIN+2147483647")]
    public void Text_that_names_no_signal_is_refused(string? text) =>
        Assert.False(Signals.TryParse(text, out _));

    [Theory]
    [InlineData(15, "SIGTERM")]
    [InlineData(34, "SIGRTMIN")]
    [InlineData(36, "SIGRTMIN+2")]
    [InlineData(32, "32")]
    public void A_signal_is_named_as_it_is_parsed(int signal, string name)
    {
        Assert.Equal(name, Signals.Name(signal));
        if (name != "32")
        {
            Assert.True(Signals.TryParse(name, out int back));
            Assert.Equal(signal, back);
        }
    }
}
