using System.Globalization;

namespace PSContainerd.Engine;

/// <summary>When this host last booted: `btime` of /proc/stat (seconds since the epoch).</summary>
internal static class HostBoot
{
    private static readonly Lazy<DateTime?> Boot = new(() =>
    {
        try
        {
            return Parse(File.ReadAllLines("/proc/stat"));
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    });

    /// <summary>The boot time, or null where /proc/stat cannot be read.</summary>
    public static DateTime? Time => Boot.Value;

    /// <summary>The `btime` line of /proc/stat as a UTC time.</summary>
    public static DateTime? Parse(IEnumerable<string> procStat)
    {
        foreach (var line in procStat)
        {
            if (line.StartsWith("btime ", StringComparison.Ordinal)
                && long.TryParse(line.AsSpan(6).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out long seconds))
            {
                return DateTimeOffset.FromUnixTimeSeconds(seconds).UtcDateTime;
            }
        }

        return null;
    }
}
