using System.Globalization;

namespace PSContainerd.Engine;

/// <summary>
/// What a container's labels record, parsed once: at every refresh of the labels a state follows
/// (<see cref="ContainerState.Recorded"/>), or once for a record just read. Every reader asks this
/// instead of interpreting label text itself. Every key is documented in about_PSContainerd.
/// </summary>
internal sealed class RecordedState
{
    public static readonly RecordedState None = new(new Dictionary<string, string>());

    private RecordedState(IReadOnlyDictionary<string, string> labels)
    {
        Labels = labels;
        IsManaged = StateLabels.IsManaged(labels);
        State = labels.Get(StateLabels.State);
        ManuallyStopped = labels.Get(StateLabels.ManuallyStopped) == "true";
        Policy = !ContainerdRestartLabels.Owned(labels) && RestartPolicy.TryParse(labels.Get(StateLabels.RestartPolicy), out var p) ? p : RestartPolicy.No;
        RestartCount = long.TryParse(labels.Get(StateLabels.RestartCount), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long n)
            ? (int)Math.Clamp(n, 0, int.MaxValue)
            : 0;
        StartedAt = StateLabels.ParseTime(labels.Get(StateLabels.StartedAt));
        RestartDueText = labels.Get(StateLabels.RestartDue);
        RestartDue = StateLabels.ParseTime(RestartDueText);
        StopIntent = RecordedStopIntent.Parse(labels.Get(StateLabels.StopIntent));
        Exit = RecordedExit.FromLabels(labels);
        ExitedAt = StateLabels.ParseTime(labels.Get(StateLabels.ExitedAt));
        AutoRemove = labels.Get(StateLabels.AutoRemove) == "true";
        OomKilled = labels.Get(StateLabels.OomKilled) == "true";
        LogPath = labels.Get(StateLabels.LogPath);
        AdoptedAt = StateLabels.ParseTime(labels.Get(StateLabels.Adopted));
    }

    public static RecordedState Of(IReadOnlyDictionary<string, string> labels) => new(labels);

    /// <summary>The labels as read or written.</summary>
    public IReadOnlyDictionary<string, string> Labels { get; }

    /// <summary>The container carries the module's labels (made by New-Container, or adopted).</summary>
    public bool IsManaged { get; }

    /// <summary>The last state recorded: <see cref="StateLabels.StateRunning"/>, stopped, restarting; null when none.</summary>
    public string? State { get; }

    public bool RecordsRunning => State == StateLabels.StateRunning;

    public bool RecordsRestarting => State == StateLabels.StateRestarting;

    public bool ManuallyStopped { get; }

    /// <summary>The module's policy; <c>no</c> for a container containerd's own restart monitor restarts (one restarter only).</summary>
    public RestartPolicy Policy { get; }

    /// <summary>
    /// The recorded restart count. The label can be set by hand: a negative count is no count (0,
    /// else on-failure:N would restart for ever), and one beyond an int saturates (a count read
    /// as 0 would start on-failure:N over).
    /// </summary>
    public int RestartCount { get; }

    /// <summary>The count the next policy restart records: one more, saturating at <see cref="int.MaxValue"/> rather than wrapping to a negative count.</summary>
    public int NextRestartCount => RestartCount == int.MaxValue ? RestartCount : RestartCount + 1;

    public DateTime? StartedAt { get; }

    /// <summary>When the pending restart is due, as recorded (text) and parsed.</summary>
    public string? RestartDueText { get; }

    public DateTime? RestartDue { get; }

    /// <summary>The stop in flight as its owner wrote it before its first signal; null when none.</summary>
    public RecordedStopIntent? StopIntent { get; }

    /// <summary>The last exit recorded; null when none (no exit code).</summary>
    public RecordedExit? Exit { get; }

    /// <summary>The recorded exit time, read even when no exit code is.</summary>
    public DateTime? ExitedAt { get; }

    public bool AutoRemove { get; }

    /// <summary>An OOM kill seen before the exit by an engine that may be gone (cleared at every start).</summary>
    public bool OomKilled { get; }

    public string? LogPath { get; }

    public DateTime? AdoptedAt { get; }

    /// <summary>Whether an exit may lead to a restart by this record (policy, manual flag, count), without touching any backoff.</summary>
    public bool WouldRestart(int exitCode, bool manuallyStopped) =>
        Policy.ShouldRestart(exitCode, manuallyStopped || ManuallyStopped, RestartCount);

    /// <summary>The rule for a container that exited while no engine watched it (see <see cref="RestartPolicy.ShouldRestartOnRestore"/>).</summary>
    public bool ShouldRestartOnRestore(int exitCode, bool manuallyStopped) =>
        Policy.ShouldRestartOnRestore(exitCode, manuallyStopped || ManuallyStopped, RestartCount,
            RestartManager.HostRestartedSince(ExitedAt, HostBoot.Time));
}
