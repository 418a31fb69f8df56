using System.Globalization;

namespace PSContainerd.Engine;

/// <summary>
/// A process as the kernel tells it apart from a later one that reused its pid: the pid and its
/// start time (field 22 of /proc/PID/stat, clock ticks since boot). A pid alone names whichever
/// process holds it now (crun#1200, containerd#5630).
/// </summary>
public readonly record struct ProcessIdentity(int Pid, ulong? StartTicks)
{
    /// <summary>This process.</summary>
    public static ProcessIdentity Current() => Of(Environment.ProcessId) ?? new ProcessIdentity(Environment.ProcessId, null);

    /// <summary>The process holding <paramref name="pid"/> now; null when there is none (or it is a zombie).</summary>
    public static ProcessIdentity? Of(int pid)
    {
        if (pid <= 0)
        {
            return null;
        }

        try
        {
            return Parse(pid, File.ReadAllText($"/proc/{pid}/stat"), out bool dead) is { } id && !dead ? id : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// Reads a /proc/PID/stat line: "pid (comm) S ppid ... starttime ...". comm may hold spaces and
    /// parentheses, so fields are counted from the last ')'; starttime is field 22 (state is 3).
    /// </summary>
    internal static ProcessIdentity? Parse(int pid, string stat, out bool dead)
    {
        dead = false;
        int close = stat.LastIndexOf(')');
        if (close < 0)
        {
            return null;
        }

        var fields = stat[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        // fields[0] is field 3 (state), so field 22 is fields[19].
        if (fields.Length < 20 || !ulong.TryParse(fields[19], NumberStyles.None, CultureInfo.InvariantCulture, out ulong start))
        {
            return null;
        }

        dead = fields[0] is "Z" or "X";
        return new ProcessIdentity(pid, start);
    }

    /// <summary>Whether this process still runs: the pid is held by a live process that started when this one did.</summary>
    public bool IsAlive => Of(Pid) is { } now && (StartTicks is null || now.StartTicks == StartTicks);

    /// <summary>"PID:STARTTICKS" (or "PID" when the start time is not known) as written in a stop intent.</summary>
    public override string ToString() => StartTicks is ulong t
        ? Pid.ToString(CultureInfo.InvariantCulture) + ":" + t.ToString(CultureInfo.InvariantCulture)
        : Pid.ToString(CultureInfo.InvariantCulture);

    public static ProcessIdentity? TryParse(string? text)
    {
        var p = text?.Split(':');
        if (p is null || p.Length is < 1 or > 2 || !int.TryParse(p[0], NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
        {
            return null;
        }

        ulong? start = p.Length == 2 && ulong.TryParse(p[1], NumberStyles.None, CultureInfo.InvariantCulture, out ulong t) ? t : null;
        return new ProcessIdentity(pid, start);
    }
}
