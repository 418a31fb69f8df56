using System.Globalization;
using System.Text.RegularExpressions;

namespace PSContainerd.Engine;

/// <summary>What makes a container ready: every check given must pass at once. None given: its task runs.</summary>
public sealed record ReadinessCriteria(
    Regex? LogPattern = null,
    IReadOnlyList<string>? Command = null,
    int? TcpPort = null,
    bool SignalHandled = false)
{
    /// <summary>How the criteria read in a message: "log matches 'x', listens on 8080".</summary>
    public string Describe()
    {
        var parts = new List<string>();
        if (LogPattern is not null)
        {
            parts.Add($"its log matches '{LogPattern}'");
        }

        if (Command is { Count: > 0 })
        {
            parts.Add($"'{string.Join(' ', Command)}' exits 0");
        }

        if (TcpPort is int port)
        {
            parts.Add($"it listens on TCP port {port}");
        }

        if (SignalHandled)
        {
            parts.Add("its init process handles its stop signal");
        }

        return parts.Count == 0 ? "it runs" : string.Join(", ", parts);
    }
}

/// <summary>
/// The kernel's side of readiness, read from /proc without entering the container: which signals the
/// init process catches, and which TCP ports its network namespace listens on. /proc/PID/net/tcp is
/// the TCP table of PID's network namespace, so no tool needs to exist inside the image.
/// </summary>
internal static class ReadinessChecks
{
    private const string Listen = "0A"; // TCP_LISTEN in /proc/net/tcp's st column
    private const int SIGSTOP = 19;

    /// <summary>
    /// What becomes of <paramref name="signal"/> if it is sent now: whether the process has a handler
    /// for it (its SigCgt mask), and whether the kernel will drop it: the process is the init of its
    /// own pid namespace (its last NSpid is 1) and has no handler, and the signal is not SIGKILL or
    /// SIGSTOP, which an init takes from its parent namespace whatever it does. Null when /proc does
    /// not say (the process is gone).
    /// </summary>
    public static (bool Handled, bool Dropped)? SignalFate(uint pid, int signal)
    {
        if (!HasExecuted(pid))
        {
            return null; // still runc's init, whose Go runtime catches every signal: says nothing of the program
        }

        string? nspid = null;
        ulong? caught = null;
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("NSpid:", StringComparison.Ordinal))
                {
                    nspid = line[6..].Trim();
                }
                else if (line.StartsWith("SigCgt:", StringComparison.Ordinal))
                {
                    caught = ulong.Parse(line.AsSpan(7).Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                }
            }
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }

        if (nspid is null || caught is not ulong mask)
        {
            return null;
        }

        bool handled = Catches(mask, signal);
        bool namespaceInit = nspid.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)[^1] == "1";
        return (handled, namespaceInit && !handled && signal is not (Signals.SIGKILL or SIGSTOP));
    }

    /// <summary>
    /// Whether the container's init is its own program yet: between the task's start and runc's
    /// exec, PID 1 is runc's init (comm <c>runc:[2:INIT]</c>), a Go program that catches every
    /// signal, so its SigCgt would pass any check for a handler.
    /// </summary>
    public static bool HasExecuted(uint pid)
    {
        try
        {
            return !File.ReadAllText($"/proc/{pid}/comm").StartsWith("runc:", StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Whether <paramref name="signal"/> (1..64) is among the caught signals of a SigCgt mask.</summary>
    public static bool Catches(ulong mask, int signal) => signal is >= 1 and <= 64 && (mask & (1UL << (signal - 1))) != 0;

    /// <summary>Whether a socket in the process's network namespace listens on <paramref name="port"/> (IPv4 or IPv6).</summary>
    public static bool ListensOn(uint pid, int port)
    {
        foreach (var table in new[] { $"/proc/{pid}/net/tcp", $"/proc/{pid}/net/tcp6" })
        {
            try
            {
                if (File.ReadLines(table).Skip(1).Any(l => IsListening(l, port)))
                {
                    return true;
                }
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return false;
    }

    /// <summary>One row of /proc/net/tcp{,6}: "sl local_address rem_address st ...", the local address as HEXIP:HEXPORT.</summary>
    internal static bool IsListening(string row, int port)
    {
        var f = row.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (f.Length < 4 || f[3] != Listen)
        {
            return false;
        }

        int colon = f[1].LastIndexOf(':');
        return colon > 0 && int.TryParse(f[1].AsSpan(colon + 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int p) && p == port;
    }
}
