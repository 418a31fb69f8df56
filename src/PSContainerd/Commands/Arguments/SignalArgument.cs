using System.Management.Automation;
using PSContainerd.Engine;

namespace PSContainerd.Commands;

/// <summary>
/// A signal the user typed (-Signal, -StopSignal): a name such as SIGTERM or TERM in any case,
/// RTMIN+n, or a number 1..64, as <see cref="Signals.TryParse"/> reads it. Every cmdlet that
/// takes a signal reads it here, so all refuse the same text with the same InvalidSignal error.
/// </summary>
internal static class SignalArgument
{
    /// <summary>The signal's number in <paramref name="signal"/> (null when none was given), or the error for text that names none.</summary>
    public static ErrorRecord? Check(string? text, out int? signal)
    {
        signal = null;
        if (text is null)
        {
            return null;
        }

        if (!Signals.TryParse(text, out int sig))
        {
            return ErrorRecords.InvalidSignal(text);
        }

        signal = sig;
        return null;
    }

    /// <summary>The signal's number, checked before any container is touched; null when none was given. Text that names no signal ends the call.</summary>
    public static int? Parse(PSCmdlet cmdlet, string? text)
    {
        if (Check(text, out int? signal) is { } error)
        {
            cmdlet.ThrowTerminatingError(error);
        }

        return signal;
    }
}
