namespace PSContainerd.Containerd;

/// <summary>One mount of a container's root filesystem, as a snapshotter describes it (types.Mount).</summary>
public sealed record RootfsMount(string Type, string Source, string Target, IReadOnlyList<string> Options);

/// <summary>A snapshot's kind (snapshots.v1 Kind).</summary>
public enum SnapshotKind
{
    Unknown = 0,
    View = 1,
    Active = 2,
    Committed = 3,
}

/// <summary>A snapshot's record (snapshots.v1 Info).</summary>
public sealed record SnapshotInfo(
    string Name,
    string Parent,
    SnapshotKind Kind,
    DateTime? CreatedAt,
    DateTime? UpdatedAt,
    IReadOnlyDictionary<string, string> Labels);
