using PSContainerd.Containerd;
using PSContainerd.Engine;
using Xunit;

namespace PSContainerd.Tests;

/// <summary>
/// The engine side of New-Container -Image against the fixture's images (tests/Fixtures/testimage.sh),
/// imported with ctr into a namespace of each test's own: the record, the container's own snapshot,
/// and that the snapshot goes with the container.
/// </summary>
[Collection(ContainerdCollection.Name)]
public sealed class ImageContainerTests
{
    private const string Busybox = "pscd.test/busybox:latest";

    private readonly ContainerdFixture _fx;

    public ImageContainerTests(ContainerdFixture fx) => _fx = fx;

    private Scratch WithImages(string tag)
    {
        var scratch = new Scratch(_fx, tag);
        _fx.RunScript("image", _fx.Dir, scratch.Namespace);
        return scratch;
    }

    private static NewContainerRequest FromImage(string id, string[]? command = null, bool autoRemove = false, string snapshotter = "overlayfs") =>
        new(id, string.Empty, command ?? Array.Empty<string>(), Array.Empty<string>(), new Dictionary<string, string>(), null, null, RestartPolicy.No, autoRemove, null,
            Image: new ImageSource(Busybox, snapshotter));

    [Fact]
    public async Task The_record_names_the_image_and_an_active_snapshot_on_the_images_layers_which_remove_deletes()
    {
        await using var scratch = WithImages("img-record");
        var engine = scratch.Open();
        var image = await ImageResolver.ResolveAsync(scratch.Client, Busybox, CancellationToken.None);

        var info = await engine.CreateAsync(FromImage("rec"));

        Assert.Equal(Busybox, info.Image);
        var rec = await scratch.Client.GetContainerAsync("rec");
        Assert.Equal(("overlayfs", "rec", Busybox), (rec.Snapshotter, rec.SnapshotKey, rec.Image));
        var snap = await scratch.Client.StatSnapshotAsync("overlayfs", "rec");
        Assert.NotNull(snap);
        Assert.Equal(SnapshotKind.Active, snap!.Kind);
        Assert.Equal(image.ChainId, snap.Parent);
        Assert.Contains("\"path\":\"rootfs\"", rec.SpecJson, StringComparison.Ordinal);

        await engine.RemoveAsync("rec", force: false);
        Assert.Null(await scratch.Client.StatSnapshotAsync("overlayfs", "rec"));
        Assert.NotNull(await scratch.Client.StatSnapshotAsync("overlayfs", image.ChainId)); // the image's own layers stay
    }

    [Fact]
    public async Task A_snapshot_that_cannot_be_prepared_leaves_no_record_behind()
    {
        await using var scratch = WithImages("img-prepare");
        var engine = scratch.Open();
        var image = await ImageResolver.ResolveAsync(scratch.Client, Busybox, CancellationToken.None);
        // Someone else's snapshot under the key the container would use; a gc root, or containerd's
        // garbage collector takes it (nothing references it) as soon as the failed create's delete runs it.
        await scratch.Client.PrepareSnapshotAsync("overlayfs", "taken", image.ChainId, new Dictionary<string, string> { ["containerd.io/gc.root"] = "test" });
        try
        {
            var e = await Assert.ThrowsAsync<ContainerdException>(() => engine.CreateAsync(FromImage("taken")));
            Assert.Equal(ContainerdErrorKind.AlreadyExists, e.Kind);
            Assert.Empty(await scratch.Client.ListContainersAsync());
            Assert.NotNull(await scratch.Client.StatSnapshotAsync("overlayfs", "taken")); // not ours to remove
        }
        finally
        {
            await scratch.Client.RemoveSnapshotAsync("overlayfs", "taken");
        }
    }

    [Fact]
    public async Task An_auto_removed_container_takes_its_snapshot_with_it()
    {
        await using var scratch = WithImages("img-autorm");
        var engine = scratch.Open();
        await engine.CreateAsync(FromImage("auto", new[] { "/bin/true" }, autoRemove: true));
        Assert.NotNull(await scratch.Client.StatSnapshotAsync("overlayfs", "auto"));

        await engine.StartAsync("auto");

        await Containers.Until(async () => (await scratch.Client.ListContainersAsync()).Count == 0, TimeSpan.FromSeconds(20), "the container removed itself");
        // The snapshot goes right after the record, in the same removal.
        await Containers.Until(async () => await scratch.Client.StatSnapshotAsync("overlayfs", "auto") is null, TimeSpan.FromSeconds(10), "its snapshot was removed with it");
    }
}
