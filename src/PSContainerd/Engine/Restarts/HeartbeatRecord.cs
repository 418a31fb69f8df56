using System.Globalization;

namespace PSContainerd.Engine;

/// <summary>
/// The holder's record at the start of its lock file, rewritten in place every heartbeat:
/// "pid since-ticks beat-ms", padded to <see cref="Length"/> bytes. Readers need read access to
/// the file (its owner and the socket's group); others see a holder without it.
/// </summary>
internal readonly record struct HeartbeatRecord(int ProcessId, DateTime Since, long BeatMs)
{
    public const int Length = 64;

    /// <summary>The record in <paramref name="name"/> (opened in <paramref name="dir"/> without following a link); null when unreadable.</summary>
    public static HeartbeatRecord? Read(int dir, string name)
    {
        int fd = FileCalls.openat(dir, name, FileCalls.O_RDONLY | FileCalls.O_NOFOLLOW | FileCalls.O_CLOEXEC, 0);
        if (fd < 0)
        {
            return null;
        }

        try
        {
            var buf = new byte[Length];
            long n = FileCalls.pread(fd, buf, (ulong)buf.Length, 0);
            return n > 0 ? Parse(System.Text.Encoding.ASCII.GetString(buf, 0, (int)n)) : null;
        }
        finally
        {
            NativeMethods.close(fd);
        }
    }

    internal static HeartbeatRecord? Parse(string text)
    {
        var f = text.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return f.Length >= 3
            && int.TryParse(f[0], NumberStyles.None, CultureInfo.InvariantCulture, out int pid)
            && long.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out long ticks) && ticks <= DateTime.MaxValue.Ticks
            && long.TryParse(f[2], NumberStyles.None, CultureInfo.InvariantCulture, out long beat)
            ? new HeartbeatRecord(pid, new DateTime(ticks, DateTimeKind.Utc), beat)
            : null;
    }
}
