using PSContainerd.Containerd;

namespace PSContainerd.Engine;

/// <summary>
/// The root filesystem a task of an image-based container must be created on. containerd's own
/// client (and ctr, nerdctl) hands Tasks.Create the mounts of the container's snapshot; the
/// shim mounts them on the bundle's rootfs folder and unmounts them when the task goes, so the
/// bundle is left empty whatever happens. A task created without them runs on the bare bundle
/// folder: the process is not found, and the files runc put there keep containerd from removing
/// the bundle, so no later create (the module's or ctr's) works (docs/failure-modes.md).
/// </summary>
internal static class SnapshotRootfs
{
    /// <summary>
    /// The mounts of the container's snapshot; null for a container made from a root folder
    /// (its spec's root.path is used as is). Never an empty list for a snapshot-based one: a
    /// snapshot that cannot be found is an error, not a task on an empty folder.
    /// </summary>
    public static async Task<IReadOnlyList<RootfsMount>?> MountsForAsync(this ContainerdClient client, string id, CancellationToken ct)
    {
        var rec = await client.GetContainerAsync(id, ct).ConfigureAwait(false);
        if (!rec.HasSnapshot)
        {
            return null;
        }

        IReadOnlyList<RootfsMount> mounts;
        try
        {
            mounts = await client.SnapshotMountsAsync(rec.Snapshotter, rec.SnapshotKey, ct).ConfigureAwait(false);
        }
        catch (ContainerdException e) when (e.Kind == ContainerdErrorKind.NotFound)
        {
            throw new ContainerdException(ContainerdErrorKind.FailedPrecondition, client.Address,
                $"Container '{id}' runs on snapshot '{rec.SnapshotKey}' of snapshotter '{rec.Snapshotter}', which containerd no longer has ({e.Message}); its task was not created.", e);
        }

        return mounts.Count > 0 ? mounts : throw new ContainerdException(ContainerdErrorKind.FailedPrecondition, client.Address,
            $"Snapshotter '{rec.Snapshotter}' gave no mounts for snapshot '{rec.SnapshotKey}' of container '{id}'; its task was not created.");
    }
}
