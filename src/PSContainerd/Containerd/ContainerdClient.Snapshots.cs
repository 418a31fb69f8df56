using PSContainerd.Containerd.Api.Snapshots;
using Proto = PSContainerd.Containerd.Api;

namespace PSContainerd.Containerd;

/// <summary>
/// containerd's Snapshots service: the root filesystems of image-based containers. A container
/// record that names a snapshotter and a snapshot key gets its rootfs mounts from here, and a
/// task created without them would start on an empty bundle folder.
/// </summary>
public sealed partial class ContainerdClient
{
    private Snapshots.SnapshotsClient? _snapshots;

    private Snapshots.SnapshotsClient SnapshotsApi => _snapshots ??= new Snapshots.SnapshotsClient(ContainerdChannel.For(Address));

    /// <summary>Makes an active (writable) snapshot <paramref name="key"/> on top of <paramref name="parent"/> (empty: none); answers its mounts.</summary>
    public Task<IReadOnlyList<RootfsMount>> PrepareSnapshotAsync(string snapshotter, string key, string parent, IReadOnlyDictionary<string, string>? labels = null, CancellationToken ct = default) =>
        Unary(async o =>
        {
            var req = new PrepareSnapshotRequest { Snapshotter = snapshotter, Key = key, Parent = parent };
            AddLabels(req.Labels, labels);
            return ToMounts((await SnapshotsApi.PrepareAsync(req, o)).Mounts);
        }, ct, SnapshotDeadline);

    /// <summary>Makes a read-only view <paramref name="key"/> of <paramref name="parent"/>; answers its mounts.</summary>
    public Task<IReadOnlyList<RootfsMount>> ViewSnapshotAsync(string snapshotter, string key, string parent, IReadOnlyDictionary<string, string>? labels = null, CancellationToken ct = default) =>
        Unary(async o =>
        {
            var req = new ViewSnapshotRequest { Snapshotter = snapshotter, Key = key, Parent = parent };
            AddLabels(req.Labels, labels);
            return ToMounts((await SnapshotsApi.ViewAsync(req, o)).Mounts);
        }, ct, SnapshotDeadline);

    /// <summary>The mounts of an existing active or view snapshot: what Tasks.Create takes as the rootfs.</summary>
    public Task<IReadOnlyList<RootfsMount>> SnapshotMountsAsync(string snapshotter, string key, CancellationToken ct = default) =>
        Unary(async o => ToMounts((await SnapshotsApi.MountsAsync(new MountsRequest { Snapshotter = snapshotter, Key = key }, o)).Mounts), ct);

    /// <summary>Commits active snapshot <paramref name="key"/> as <paramref name="name"/> (how an unpacked layer becomes a parent).</summary>
    public Task CommitSnapshotAsync(string snapshotter, string name, string key, IReadOnlyDictionary<string, string>? labels = null, CancellationToken ct = default) =>
        Unary(async o =>
        {
            var req = new CommitSnapshotRequest { Snapshotter = snapshotter, Name = name, Key = key };
            AddLabels(req.Labels, labels);
            await SnapshotsApi.CommitAsync(req, o);
        }, ct, SnapshotDeadline);

    /// <summary>Removes a snapshot; NotFound when it is not there, FailedPrecondition when it still has children.</summary>
    public Task RemoveSnapshotAsync(string snapshotter, string key, CancellationToken ct = default) =>
        Unary(async o => await SnapshotsApi.RemoveAsync(new RemoveSnapshotRequest { Snapshotter = snapshotter, Key = key }, o), ct, SnapshotDeadline);

    /// <summary>The snapshot's record, or null when there is none under <paramref name="key"/>.</summary>
    public async Task<SnapshotInfo?> StatSnapshotAsync(string snapshotter, string key, CancellationToken ct = default)
    {
        try
        {
            return await Unary(async o =>
            {
                var i = (await SnapshotsApi.StatAsync(new StatSnapshotRequest { Snapshotter = snapshotter, Key = key }, o)).Info;
                return new SnapshotInfo(
                    i.Name,
                    i.Parent,
                    (SnapshotKind)(int)i.Kind,
                    ToDate(i.CreatedAt),
                    ToDate(i.UpdatedAt),
                    new Dictionary<string, string>(i.Labels, StringComparer.Ordinal));
            }, ct).ConfigureAwait(false);
        }
        catch (ContainerdException e) when (e.Kind == ContainerdErrorKind.NotFound)
        {
            return null;
        }
    }

    // Removing or committing a large upper layer is disk work; the default deadline is for metadata calls.
    private static readonly TimeSpan SnapshotDeadline = TimeSpan.FromSeconds(60);

    private static void AddLabels(Google.Protobuf.Collections.MapField<string, string> target, IReadOnlyDictionary<string, string>? labels)
    {
        foreach (var (k, v) in labels ?? new Dictionary<string, string>())
        {
            target[k] = v;
        }
    }

    internal static IReadOnlyList<RootfsMount> ToMounts(IEnumerable<Proto.Types.Mount> mounts) =>
        mounts.Select(m => new RootfsMount(m.Type, m.Source, m.Target, m.Options.ToList())).ToList();

    internal static IEnumerable<Proto.Types.Mount> FromMounts(IEnumerable<RootfsMount> mounts) =>
        mounts.Select(m =>
        {
            var p = new Proto.Types.Mount { Type = m.Type, Source = m.Source, Target = m.Target };
            p.Options.AddRange(m.Options);
            return p;
        });
}
