namespace PSContainerd.Engine;

/// <summary>
/// containerd's own restart monitor (its <c>io.containerd.internal.v1.restart</c> plugin, which
/// `ctr run --label` and nerdctl's restart policies use). Every interval (10 s by default) it
/// looks at each container carrying <see cref="Status"/>: desired <c>running</c> and no running
/// task, it starts one (as its policy label says; <c>always</c> when there is none); desired
/// <c>stopped</c> and a running task, it SIGKILLs the task. Such a container is containerd's to
/// restart, never the module's supervisor's. The module's stops and starts hand over to it: the
/// status label is taken away while the transition runs (so the monitor neither kills a task
/// in its grace period nor restarts one being stopped), the value to put back held in
/// <see cref="Held"/>, and written back once the transition ends (see docs/foreign-containers.md).
/// </summary>
public static class ContainerdRestartLabels
{
    public const string Status = "containerd.io/restart.status";
    public const string Policy = StateLabels.ContainerdRestartPolicy;
    public const string Count = "containerd.io/restart.count";

    /// <summary>The status to write back to <see cref="Status"/> once a stop (<c>stopped</c>) or a start (<c>running</c>) ends.</summary>
    public const string Held = StateLabels.Prefix + "containerd-restart-status";

    public const string Running = "running";
    public const string Stopped = "stopped";

    /// <summary>containerd's monitor restarts it (or would, once the module's transition ends).</summary>
    public static bool Owned(IReadOnlyDictionary<string, string> labels) => labels.Get(Status) is not null || labels.Get(Held) is not null;

    /// <summary>The policy containerd's monitor applies, as it reads it (no policy label: <c>always</c>); null when it does not watch the container.</summary>
    public static string? PolicyOf(IReadOnlyDictionary<string, string> labels) => Owned(labels) ? labels.Get(Policy) ?? "always" : null;

    /// <summary>The writes that take the monitor off the container while a stop or start runs, and remember <paramref name="target"/>.</summary>
    public static IEnumerable<(string Key, string? Value)> Hold(IReadOnlyDictionary<string, string> labels, string target) =>
        Owned(labels) ? new (string, string?)[] { (Status, null), (Held, target) } : Array.Empty<(string, string?)>();

    /// <summary>The writes that give the container back to the monitor with the status held; none when nothing is held.</summary>
    public static IEnumerable<(string Key, string? Value)> Release(IReadOnlyDictionary<string, string> labels) =>
        labels.Get(Held) is string target ? new (string, string?)[] { (Status, target), (Held, null) } : Array.Empty<(string, string?)>();
}
