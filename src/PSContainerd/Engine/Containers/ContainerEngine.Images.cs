using PSContainerd.Containerd;

namespace PSContainerd.Engine;

/// <summary>Containers made from images in containerd's store (New-Container -Image).</summary>
public sealed partial class ContainerEngine
{
    /// <summary>
    /// Resolves the image for this host, checks that it is unpacked for the snapshotter, creates
    /// the record naming the image and a snapshot keyed by the container id, then prepares that
    /// snapshot (the container's own writable layer on the image's layers). The record comes
    /// first so that containerd's garbage collector, for which the record is a root, never sees
    /// the fresh snapshot unreferenced; a failed prepare deletes the record again.
    /// </summary>
    private async Task<ContainerInfo> CreateFromImageAsync(NewContainerRequest r, CancellationToken ct)
    {
        var source = r.Image!;
        var image = await ImageResolver.ResolveAsync(Client, source.Name, ct).ConfigureAwait(false);
        if (await Client.StatSnapshotAsync(source.Snapshotter, image.ChainId, ct).ConfigureAwait(false) is null)
        {
            throw new ImageException(ImageFailure.NotUnpacked, image.Name,
                $"Image '{image.Name}' is not unpacked for snapshotter '{source.Snapshotter}' in namespace '{Namespace}' (no snapshot {image.ChainId}): " +
                $"run `ctr -n {Namespace} images unpack --snapshotter {source.Snapshotter} {image.Name}`, or give the -Snapshotter it was unpacked for.");
        }

        var request = ImageProcess.Apply(r, image);
        var rec = await Client.CreateContainerAsync(new ContainerCreateSpec(
            r.Id, OciSpecBuilder.Build(request, Namespace), RecordLabels(request),
            Image: image.Name, Snapshotter: source.Snapshotter, SnapshotKey: r.Id), ct).ConfigureAwait(false);
        try
        {
            await Client.PrepareSnapshotAsync(source.Snapshotter, r.Id, image.ChainId, ct: ct).ConfigureAwait(false);
        }
        catch (Exception)
        {
            try
            {
                await Client.DeleteContainerAsync(r.Id, CancellationToken.None).ConfigureAwait(false);
            }
            catch (ContainerdException e)
            {
                Diagnose(r.Id, $"the snapshot could not be prepared and the record could not be deleted either: {e.Message}");
            }

            throw;
        }

        return BuildInfo(rec, null);
    }

    /// <summary>The names of the images in this namespace's store, for completion.</summary>
    public async Task<IReadOnlyList<string>> ListImageNamesAsync(CancellationToken ct = default) =>
        (await Client.ListImagesAsync(ct).ConfigureAwait(false)).Select(i => i.Name).OrderBy(n => n, StringComparer.Ordinal).ToList();
}
