using System.Globalization;

namespace PSContainerd.Engine;

/// <summary>
/// The label keys in which the module keeps a container's state on containerd's own record, so it
/// survives this process, containerd and the host. Every key is documented in about_PSContainerd.
/// </summary>
public static class StateLabels
{
    public const string Prefix = "pscontainerd/";

    public const string StopSignal = Prefix + "stop-signal";
    public const string StopTimeout = Prefix + "stop-timeout";
    public const string RestartPolicy = Prefix + "restart-policy";
    public const string RestartCount = Prefix + "restart-count";
    public const string AutoRemove = Prefix + "auto-remove";
    public const string LogPath = Prefix + "log-path";

    /// <summary>Last state the module recorded: running, stopped, restarting.</summary>
    public const string State = Prefix + "state";
    public const string StartedAt = Prefix + "started-at";
    public const string ManuallyStopped = Prefix + "manually-stopped";

    /// <summary>"SIGNAL;TIMEOUT;DEADLINE;PID:STARTTICKS" written before the first signal of a stop.</summary>
    public const string StopIntent = Prefix + "stop-intent";
    public const string ExitCode = Prefix + "exit-code";
    public const string ExitedAt = Prefix + "exited-at";
    public const string OomKilled = Prefix + "oom-killed";

    /// <summary>Why the last policy restart failed (rootfs gone, ...); cleared by the next start.</summary>
    public const string RestartError = Prefix + "restart-error";

    /// <summary>The time a state verb or Restore-ContainerState -Adopt took over a container the module did not make.</summary>
    public const string Adopted = Prefix + "adopted";

    /// <summary>The time a pending restart is due, set while in backoff.</summary>
    public const string RestartDue = Prefix + "restart-due";

    // Other managers' keys this module reads or writes.
    public const string ImageStopSignal = "io.containerd.image.config.stop-signal";
    public const string NerdctlStopTimeout = "nerdctl/stop-timeout";
    public const string ContainerdRestartPolicy = "containerd.io/restart.policy";
    public const string ContainerdExplicitlyStopped = "containerd.io/restart.explicitly-stopped";

    public const string StateRunning = "running";
    public const string StateStopped = "stopped";
    public const string StateRestarting = "restarting";

    public static string FormatTime(DateTime t) => t.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    public static DateTime? ParseTime(string? s) =>
        DateTime.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var t) ? t : null;

    public static int? ParseInt(string? s) =>
        int.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) ? n : null;

    /// <summary>
    /// Managed: the container carries the module's labels (made by New-Container, or adopted).
    /// The module deletes tasks and writes labels only on managed containers; others it only reads.
    /// </summary>
    public static bool IsManaged(IReadOnlyDictionary<string, string> labels) =>
        labels.Keys.Any(k => k.StartsWith(Prefix, StringComparison.Ordinal));

    /// <summary>The adoption mark to add to a write on a container that is not managed yet; none when it is.</summary>
    public static IEnumerable<(string Key, string? Value)> AdoptIfForeign(IReadOnlyDictionary<string, string>? labels) =>
        labels is null || IsManaged(labels) ? Array.Empty<(string, string?)>() : new (string, string?)[] { (Adopted, FormatTime(DateTime.UtcNow)) };

    public static string? Get(this IReadOnlyDictionary<string, string> labels, string key) =>
        labels.TryGetValue(key, out var v) && v.Length > 0 ? v : null;
}

/// <summary>
/// A stop in flight as written before its first signal; lets a later process resume it. The owner
/// is the stopping process as pid and start time, so a pid reused since does not pass for it.
/// </summary>
public sealed record StopIntent(int Signal, int TimeoutSeconds, DateTime? Deadline, ProcessIdentity Owner)
{
    public StopIntent(int signal, int timeoutSeconds, DateTime? deadline, int ownerPid)
        : this(signal, timeoutSeconds, deadline, new ProcessIdentity(ownerPid, null))
    {
    }

    public int OwnerPid => Owner.Pid;

    public override string ToString() => string.Join(';',
        Signal.ToString(CultureInfo.InvariantCulture),
        TimeoutSeconds.ToString(CultureInfo.InvariantCulture),
        Deadline is null ? "never" : StateLabels.FormatTime(Deadline.Value),
        Owner.ToString());

    public static StopIntent? Parse(string? s)
    {
        var p = s?.Split(';');
        if (p is null || p.Length != 4 || StateLabels.ParseInt(p[0]) is not int sig || StateLabels.ParseInt(p[1]) is not int timeout)
        {
            return null;
        }

        return new StopIntent(sig, timeout, StateLabels.ParseTime(p[2]), ProcessIdentity.TryParse(p[3]) ?? new ProcessIdentity(0, null));
    }
}
