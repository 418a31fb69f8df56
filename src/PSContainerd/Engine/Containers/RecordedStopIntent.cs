using System.Globalization;

namespace PSContainerd.Engine;

/// <summary>
/// A stop in flight as written before its first signal; lets a later process resume it. The owner
/// is the stopping process as pid and start time, so a pid reused since does not pass for it.
/// </summary>
public sealed record RecordedStopIntent(int Signal, int TimeoutSeconds, DateTime? Deadline, ProcessIdentity Owner)
{
    public RecordedStopIntent(int signal, int timeoutSeconds, DateTime? deadline, int ownerPid)
        : this(signal, timeoutSeconds, deadline, new ProcessIdentity(ownerPid, null))
    {
    }

    public int OwnerPid => Owner.Pid;

    public override string ToString() => string.Join(';',
        Signal.ToString(CultureInfo.InvariantCulture),
        TimeoutSeconds.ToString(CultureInfo.InvariantCulture),
        Deadline is null ? "never" : StateLabels.FormatTime(Deadline.Value),
        Owner.ToString());

    public static RecordedStopIntent? Parse(string? s)
    {
        var p = s?.Split(';');
        if (p is null || p.Length != 4 || StateLabels.ParseInt(p[0]) is not int sig || StateLabels.ParseInt(p[1]) is not int timeout)
        {
            return null;
        }

        return new RecordedStopIntent(sig, timeout, StateLabels.ParseTime(p[2]), ProcessIdentity.TryParse(p[3]) ?? new ProcessIdentity(0, null));
    }
}
