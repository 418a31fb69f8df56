namespace PSContainerd.Engine;

/// <summary>Linux signal names and numbers, as <c>kill -l</c> knows them ("TERM", "SIGTERM", "15").</summary>
public static class Signals
{
    public const int SIGHUP = 1;
    public const int SIGINT = 2;
    public const int SIGKILL = 9;
    public const int SIGTERM = 15;
    public const int SIGCONT = 18;
    public const int SIGSTOP = 19;

    private static readonly string[] Names =
    {
        string.Empty, "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2",
        "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG", "XCPU", "XFSZ",
        "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS",
    };

    public const int Max = 64;

    /// <summary>Parses a name (with or without SIG, any case; RTMIN+n) or a number 1..64.</summary>
    public static bool TryParse(string? text, out int signal)
    {
        signal = 0;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var t = text.Trim();
        if (int.TryParse(t, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n))
        {
            signal = n;
            return n is >= 1 and <= Max;
        }

        t = t.ToUpperInvariant();
        if (t.StartsWith("SIG", StringComparison.Ordinal))
        {
            t = t[3..];
        }

        if (t == "IOT")
        {
            t = "ABRT";
        }
        else if (t == "POLL")
        {
            t = "IO";
        }

        int i = Array.IndexOf(Names, t);
        if (i > 0)
        {
            signal = i;
            return true;
        }

        // Real-time signals: glibc reserves 32 and 33, so SIGRTMIN is 34 as seen from a process.
        // RTMIN+n counts up and RTMAX-n down (kill(1)'s forms); either stays within 34..64, so
        // RTMAX+1 (65) and RTMIN-1 (33, glibc's own) name no signal.
        if (t.StartsWith("RTMIN", StringComparison.Ordinal) && TryOffset(t[5..], out var off) && off >= 0 && off <= Max - 34)
        {
            signal = 34 + off;
            return true;
        }

        if (t.StartsWith("RTMAX", StringComparison.Ordinal) && TryOffset(t[5..], out off) && off <= 0 && off >= 34 - Max)
        {
            signal = Max + off;
            return true;
        }

        return false;
    }

    /// <summary>"SIGTERM" for 15; "SIGRTMIN+n" or the number for the rest.</summary>
    public static string Name(int signal) =>
        signal > 0 && signal < Names.Length ? "SIG" + Names[signal]
        : signal >= 34 && signal <= Max ? (signal == 34 ? "SIGRTMIN" : $"SIGRTMIN+{signal - 34}")
        : signal.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static bool TryOffset(string s, out int off)
    {
        off = 0;
        return s.Length == 0 || int.TryParse(s, out off);
    }
}
