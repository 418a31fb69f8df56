using System.Globalization;

namespace PSContainerd.Engine;

/// <summary>What the restart policy says about one exit: restart after <see cref="After"/>, or not.</summary>
internal readonly record struct RestartDecision(bool Restart, TimeSpan After)
{
    public static readonly RestartDecision No = new(false, TimeSpan.Zero);
}

/// <summary>
/// One container's restart policy in action, shaped as moby's restartmanager
/// (moby/restartmanager/restartmanager.go): a pure decision and the backoff it carries between
/// exits — 100 ms, doubling, capped at 1 min, reset once a run lasted 10 s. It says "restart after
/// T" or "no" and never starts a task itself: the restart supervisor does, and only the engine
/// that holds the supervisor lock (see docs/architecture.md).
/// </summary>
internal sealed class RestartManager
{
    public static readonly TimeSpan InitialBackoff = TimeSpan.FromMilliseconds(100);
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromMinutes(1);
    public static readonly TimeSpan ResetAfter = TimeSpan.FromSeconds(10);

    private readonly object _gate = new();
    private TimeSpan _backoff;

    /// <summary>The backoff of the last restart decided (zero before any).</summary>
    public TimeSpan Backoff
    {
        get
        {
            lock (_gate)
            {
                return _backoff;
            }
        }
    }

    /// <summary>
    /// moby's ShouldRestart: never after a manual stop; on-failure only for a non-zero exit and
    /// while the count is under N. A restart advances the backoff; a run of
    /// <see cref="ResetAfter"/> or more starts it again from <see cref="InitialBackoff"/>.
    /// </summary>
    public RestartDecision ShouldRestart(RestartPolicy policy, int exitCode, bool manuallyStopped, int restartCount, TimeSpan ranFor)
    {
        if (!policy.ShouldRestart(exitCode, manuallyStopped, restartCount))
        {
            return RestartDecision.No;
        }

        lock (_gate)
        {
            _backoff = NextBackoff(_backoff, ranFor);
            return new RestartDecision(true, _backoff);
        }
    }

    /// <summary>A start by hand (docker start): the next restart starts from the initial backoff again.</summary>
    public void Reset()
    {
        lock (_gate)
        {
            _backoff = TimeSpan.Zero;
        }
    }

    /// <summary>moby's timeout rule: reset after a long run, else start at 100 ms and double, capped.</summary>
    public static TimeSpan NextBackoff(TimeSpan previous, TimeSpan ranFor)
    {
        if (ranFor >= ResetAfter || previous <= TimeSpan.Zero)
        {
            return InitialBackoff;
        }

        var next = TimeSpan.FromTicks(previous.Ticks * 2);
        return next > MaxBackoff ? MaxBackoff : next;
    }

    /// <summary>
    /// When a restart recorded as due at <paramref name="due"/> is carried out: no later than the
    /// longest backoff from now. No decision ever sets it further away, so a due time beyond that
    /// is a clock stepped back or a hand-set label, and taken as it stands it would never come
    /// (a timer holds ~49.7 days at most) and leave the restart pending for ever.
    /// </summary>
    public static DateTime ClampDue(DateTime due, DateTime now, out bool clamped)
    {
        clamped = due - now > MaxBackoff;
        return clamped ? now + MaxBackoff : due;
    }

    /// <summary>The module's policy; <c>no</c> for a container containerd's own restart monitor restarts (one restarter only).</summary>
    public static RestartPolicy PolicyOf(IReadOnlyDictionary<string, string> labels) =>
        !ContainerdRestartLabels.Owned(labels) && RestartPolicy.TryParse(labels.Get(StateLabels.RestartPolicy), out var p) ? p : RestartPolicy.No;

    public static bool IsManuallyStopped(IReadOnlyDictionary<string, string> labels) => labels.Get(StateLabels.ManuallyStopped) == "true";

    /// <summary>
    /// The recorded restart count. The label can be set by hand: a negative count is no count (0,
    /// else on-failure:N would restart for ever), and one beyond an int saturates (a count read
    /// as 0 would start on-failure:N over).
    /// </summary>
    public static int CountOf(IReadOnlyDictionary<string, string> labels) =>
        long.TryParse(labels.Get(StateLabels.RestartCount), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long n)
            ? (int)Math.Clamp(n, 0, int.MaxValue)
            : 0;

    /// <summary>The count the next policy restart records: one more, saturating at <see cref="int.MaxValue"/> rather than wrapping to a negative count.</summary>
    public static int NextCountOf(IReadOnlyDictionary<string, string> labels) =>
        CountOf(labels) is var count && count == int.MaxValue ? count : count + 1;

    /// <summary>Whether an exit may lead to a restart by these labels (policy, manual flag, count), without touching any backoff.</summary>
    public static bool WouldRestart(IReadOnlyDictionary<string, string> labels, int exitCode, bool manuallyStopped) =>
        PolicyOf(labels).ShouldRestart(exitCode, manuallyStopped || IsManuallyStopped(labels), CountOf(labels));

    /// <summary>The rule for a container that exited while no engine watched it (see <see cref="RestartPolicy.ShouldRestartOnRestore"/>).</summary>
    public static bool ShouldRestartOnRestore(IReadOnlyDictionary<string, string> labels, int exitCode, bool manuallyStopped) =>
        PolicyOf(labels).ShouldRestartOnRestore(exitCode, manuallyStopped || IsManuallyStopped(labels), CountOf(labels),
            HostRestartedSince(StateLabels.ParseTime(labels.Get(StateLabels.ExitedAt)), HostBoot.Time));

    /// <summary>Whether the host booted after <paramref name="exitedAt"/>; unknown times say no (a manual stop holds).</summary>
    public static bool HostRestartedSince(DateTime? exitedAt, DateTime? boot) =>
        exitedAt is DateTime exited && boot is DateTime booted && exited < booted;
}
