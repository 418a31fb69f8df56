using PSContainerd.Containerd;

namespace PSContainerd.Engine;

/// <summary>
/// Deleting a container takes its own snapshot (its writable layer) with it, as containerd's
/// client does with WithSnapshotCleanup (`ctr containers rm`, nerdctl rm): the snapshot is named
/// by the record, and nothing else would remove it.
/// </summary>
public static class SnapshotCleanup
{
    /// <summary>Deletes the container record, then its snapshot if it names one; NotFound when the container is gone.</summary>
    public static async Task DeleteContainerWithSnapshotAsync(this ContainerdClient client, string id, CancellationToken ct = default)
    {
        ContainerRecord? record = null;
        try
        {
            record = await client.GetContainerAsync(id, ct).ConfigureAwait(false);
        }
        catch (ContainerdException e) when (e.Kind == ContainerdErrorKind.NotFound)
        {
            // Deleted meanwhile: the delete below says so.
        }

        await client.DeleteContainerAsync(id, ct).ConfigureAwait(false);
        if (record is { HasSnapshot: true })
        {
            try
            {
                await client.RemoveSnapshotAsync(record.Snapshotter, record.SnapshotKey, ct).ConfigureAwait(false);
            }
            catch (ContainerdException e) when (e.Kind == ContainerdErrorKind.NotFound)
            {
                // Removed by someone else (ctr containers rm of the same record): nothing left.
            }
        }
    }
}
