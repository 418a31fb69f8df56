namespace PSContainerd.Containerd;

/// <summary>containerd's view of a task's status (api/types/task Status).</summary>
public enum TaskStatus
{
    Unknown = 0,
    Created = 1,
    Running = 2,
    Stopped = 3,
    Paused = 4,
    Pausing = 5,
}

public static class TaskStatusExtensions
{
    /// <summary>Paused, or on its way there: the one test of "is paused" (a signal will not be acted on until a resume).</summary>
    public static bool IsPaused(this TaskStatus status) => status is TaskStatus.Paused or TaskStatus.Pausing;
}

/// <summary>
/// A container record: metadata only; its state lives in its labels. <see cref="Snapshotter"/> and
/// <see cref="SnapshotKey"/> are set for image-based containers (empty for a root folder).
/// </summary>
public sealed record ContainerRecord(
    string Id,
    IReadOnlyDictionary<string, string> Labels,
    string Image,
    string Runtime,
    string? SpecJson,
    DateTime CreatedAt,
    DateTime UpdatedAt,
    string Snapshotter = "",
    string SnapshotKey = "")
{
    /// <summary>Its root filesystem is a snapshot whose mounts Tasks.Create must be given.</summary>
    public bool HasSnapshot => Snapshotter.Length > 0 && SnapshotKey.Length > 0;
}

/// <summary>A task's init process as containerd reports it.</summary>
public sealed record TaskInfo(string ContainerId, uint Pid, TaskStatus Status, uint ExitStatus, DateTime? ExitedAt);

/// <summary>An exit status with its time, from Wait, Delete or an exit event.</summary>
public sealed record ExitInfo(uint ExitStatus, DateTime? ExitedAt, uint Pid = 0);

/// <summary>What New-Container asks containerd to create; an image-based container also names its image and snapshot.</summary>
public sealed record ContainerCreateSpec(string Id, string SpecJson, IReadOnlyDictionary<string, string> Labels, string Runtime = "io.containerd.runc.v2",
    string Image = "", string Snapshotter = "", string SnapshotKey = "");

public sealed record VersionInfo(string Version, string Revision);

/// <summary>An event from containerd's event stream, stripped of protobuf.</summary>
public abstract record ContainerdEvent(DateTime Timestamp, string Namespace, string Topic, string ContainerId);

public sealed record TaskCreateEvent(DateTime Timestamp, string Namespace, string ContainerId, uint Pid)
    : ContainerdEvent(Timestamp, Namespace, "/tasks/create", ContainerId);

public sealed record TaskStartEvent(DateTime Timestamp, string Namespace, string ContainerId, uint Pid)
    : ContainerdEvent(Timestamp, Namespace, "/tasks/start", ContainerId);

/// <summary><see cref="ProcessId"/> equals the container id for the init process, else the exec id.</summary>
public sealed record TaskExitEvent(DateTime Timestamp, string Namespace, string ContainerId, string ProcessId, uint Pid, uint ExitStatus, DateTime ExitedAt)
    : ContainerdEvent(Timestamp, Namespace, "/tasks/exit", ContainerId)
{
    public bool IsInit => ProcessId == ContainerId || ProcessId.Length == 0;
}

public sealed record TaskDeleteEvent(DateTime Timestamp, string Namespace, string ContainerId, uint Pid, uint ExitStatus, DateTime ExitedAt)
    : ContainerdEvent(Timestamp, Namespace, "/tasks/delete", ContainerId);

public sealed record TaskOomEvent(DateTime Timestamp, string Namespace, string ContainerId)
    : ContainerdEvent(Timestamp, Namespace, "/tasks/oom", ContainerId);

public sealed record TaskPausedEvent(DateTime Timestamp, string Namespace, string ContainerId)
    : ContainerdEvent(Timestamp, Namespace, "/tasks/paused", ContainerId);

public sealed record TaskResumedEvent(DateTime Timestamp, string Namespace, string ContainerId)
    : ContainerdEvent(Timestamp, Namespace, "/tasks/resumed", ContainerId);

public sealed record ExecEvent(DateTime Timestamp, string Namespace, string Topic, string ContainerId, string ExecId)
    : ContainerdEvent(Timestamp, Namespace, Topic, ContainerId);

/// <param name="Labels">For /containers/update: the container's labels after the update.</param>
public sealed record ContainerLifecycleEvent(DateTime Timestamp, string Namespace, string Topic, string ContainerId, IReadOnlyDictionary<string, string>? Labels = null)
    : ContainerdEvent(Timestamp, Namespace, Topic, ContainerId);

/// <summary>A marker this module published to learn that its subscription is live.</summary>
public sealed record MarkerEvent(DateTime Timestamp, string Namespace, string Topic, string Token)
    : ContainerdEvent(Timestamp, Namespace, Topic, string.Empty);
