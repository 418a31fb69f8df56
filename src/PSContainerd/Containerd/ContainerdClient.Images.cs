using PSContainerd.Containerd.Api.Content;
using PSContainerd.Containerd.Api.Images;

namespace PSContainerd.Containerd;

/// <summary>
/// containerd's Images and Content services: the image store New-Container -Image reads (an image
/// name, its manifest or index, its config). Read only: importing is left to `ctr images import`.
/// </summary>
public sealed partial class ContainerdClient
{
    /// <summary>
    /// The largest blob <see cref="ReadContentAsync"/> reads: manifests, indexes and configs are a
    /// few kilobytes; a digest that names a layer by mistake must not be pulled into memory.
    /// </summary>
    public const long MaxMetadataBlob = 4 * 1024 * 1024;

    private Images.ImagesClient? _images;
    private Content.ContentClient? _content;

    private Images.ImagesClient ImagesApi => _images ??= new Images.ImagesClient(ContainerdChannel.For(Address));

    private Content.ContentClient ContentApi => _content ??= new Content.ContentClient(ContainerdChannel.For(Address));

    /// <summary>The image named <paramref name="name"/>, or null when the store has none by that name.</summary>
    public async Task<ImageRecord?> GetImageAsync(string name, CancellationToken ct = default)
    {
        try
        {
            return await Unary(async o => ToImage((await ImagesApi.GetAsync(new GetImageRequest { Name = name }, o)).Image), ct).ConfigureAwait(false);
        }
        catch (ContainerdException e) when (e.Kind == ContainerdErrorKind.NotFound)
        {
            return null;
        }
    }

    public Task<IReadOnlyList<ImageRecord>> ListImagesAsync(CancellationToken ct = default, params string[] filters) =>
        Unary<IReadOnlyList<ImageRecord>>(async o =>
        {
            var req = new ListImagesRequest();
            req.Filters.AddRange(filters);
            return (await ImagesApi.ListAsync(req, o)).Images.Select(ToImage).ToList();
        }, ct);

    /// <summary>
    /// The whole blob <paramref name="digest"/> from the content store (NotFound when absent);
    /// refuses one larger than <see cref="MaxMetadataBlob"/> with InvalidArgument.
    /// </summary>
    public Task<byte[]> ReadContentAsync(string digest, long size, CancellationToken ct = default)
    {
        if (size > MaxMetadataBlob)
        {
            throw new ContainerdException(ContainerdErrorKind.InvalidArgument, Address,
                $"blob {digest} is {size} bytes; an image manifest, index or config is at most {MaxMetadataBlob} here.");
        }

        // One deadline for the whole stream: a few kilobytes from a local daemon.
        return Unary(async o =>
        {
            using var call = ContentApi.Read(new ReadContentRequest { Digest = digest }, o);
            using var buffer = new MemoryStream();
            while (await call.ResponseStream.MoveNext(o.CancellationToken).ConfigureAwait(false))
            {
                var chunk = call.ResponseStream.Current.Data;
                if (buffer.Length + chunk.Length > MaxMetadataBlob)
                {
                    throw new ContainerdException(ContainerdErrorKind.InvalidArgument, Address,
                        $"blob {digest} is larger than {MaxMetadataBlob} bytes, too large for an image manifest, index or config.");
                }

                chunk.WriteTo(buffer);
            }

            return buffer.ToArray();
        }, ct);
    }

    private static ImageRecord ToImage(Image i) => new(
        i.Name,
        new ContentDescriptor(i.Target?.MediaType ?? string.Empty, i.Target?.Digest ?? string.Empty, i.Target?.Size ?? 0),
        new Dictionary<string, string>(i.Labels, StringComparer.Ordinal),
        ToDate(i.CreatedAt));
}
