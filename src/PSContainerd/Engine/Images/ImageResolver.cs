using System.Runtime.InteropServices;
using System.Text.Json;
using PSContainerd.Containerd;

namespace PSContainerd.Engine;

/// <summary>An image resolved for this host: its name, the config it runs with, and the snapshot its layers unpack to.</summary>
public sealed record ResolvedImage(string Name, string ManifestDigest, ImageConfig Config, string ChainId);

/// <summary>
/// Walks an image in containerd's store to the config this host runs, as containerd's client does
/// (images.Manifest with the default platform matcher): an index picks the manifest for this
/// host's OS and architecture; a manifest's config must be for them too.
/// </summary>
public static class ImageResolver
{
    private const string OciIndex = "application/vnd.oci.image.index.v1+json";
    private const string DockerList = "application/vnd.docker.distribution.manifest.list.v2+json";
    private const string OciManifest = "application/vnd.oci.image.manifest.v1+json";
    private const string DockerManifest = "application/vnd.docker.distribution.manifest.v2+json";

    // An index may point at indexes (nested); containerd follows them too, but not for ever.
    private const int MaxDepth = 4;

    public static string HostOs => "linux";

    /// <summary>This host's architecture as image platforms name it (GOARCH).</summary>
    public static string HostArchitecture => RuntimeInformation.OSArchitecture switch
    {
        Architecture.X64 => "amd64",
        Architecture.Arm64 => "arm64",
        Architecture.Arm => "arm",
        Architecture.X86 => "386",
        Architecture.S390x => "s390x",
        Architecture.Ppc64le => "ppc64le",
        var a => a.ToString().ToLowerInvariant(),
    };

    public static async Task<ResolvedImage> ResolveAsync(ContainerdClient client, string name, CancellationToken ct)
    {
        var image = await client.GetImageAsync(name, ct).ConfigureAwait(false)
            ?? throw new ImageException(ImageFailure.NotFound, name,
                $"No image '{name}' in namespace '{client.Namespace}' at '{client.Address}' (containerd keeps full names such as docker.io/library/busybox:latest; `ctr -n {client.Namespace} images ls` lists them). Import it first: `ctr -n {client.Namespace} images import FILE.tar` or `ctr images pull`.");

        var desc = image.Target;
        for (int depth = 0; depth < MaxDepth; depth++)
        {
            using var doc = await ReadJsonAsync(client, name, desc, ct).ConfigureAwait(false);
            var root = doc.RootElement;
            string kind = desc.MediaType.Length > 0 ? desc.MediaType : Sniff(root);
            switch (kind)
            {
                case OciIndex or DockerList:
                    desc = Malformed(name, desc, () => PickManifest(name, root));
                    continue;
                case OciManifest or DockerManifest:
                    var configDesc = Malformed(name, desc, () => Descriptor(root.GetProperty("config")));
                    var config = ImageConfig.Parse(await client.ReadContentAsync(configDesc.Digest, configDesc.Size, ct).ConfigureAwait(false));
                    if ((config.Os.Length > 0 && config.Os != HostOs) || (config.Architecture.Length > 0 && config.Architecture != HostArchitecture))
                    {
                        throw Unusable(name, $"it is for {config.Os}/{config.Architecture}; this host runs {HostOs}/{HostArchitecture}");
                    }

                    if (config.DiffIds.Count == 0)
                    {
                        throw Unusable(name, "its config lists no layers (rootfs.diff_ids)");
                    }

                    return new ResolvedImage(image.Name, desc.Digest, config, config.ChainId());
                default:
                    throw Unusable(name, $"its {desc.Digest} has media type '{kind}', neither an OCI/docker image manifest nor an index");
            }
        }

        throw Unusable(name, $"its indexes nest deeper than {MaxDepth}");
    }

    private static async Task<JsonDocument> ReadJsonAsync(ContainerdClient client, string name, ContentDescriptor desc, CancellationToken ct)
    {
        byte[] bytes;
        try
        {
            bytes = await client.ReadContentAsync(desc.Digest, desc.Size, ct).ConfigureAwait(false);
        }
        catch (ContainerdException e) when (e.Kind == ContainerdErrorKind.NotFound)
        {
            throw Unusable(name, $"its {desc.Digest} is not in the content store (a partial pull or import?)");
        }

        try
        {
            return JsonDocument.Parse(bytes);
        }
        catch (JsonException e)
        {
            throw Unusable(name, $"its {desc.Digest} is not JSON ({e.Message})");
        }
    }

    // The OCI spec lets mediaType be left out of a manifest's own JSON and of index entries.
    private static string Sniff(JsonElement root) =>
        root.TryGetProperty("mediaType", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString()!
        : root.TryGetProperty("manifests", out _) ? OciIndex
        : root.TryGetProperty("config", out _) ? OciManifest
        : string.Empty;

    /// <summary>The index entry for this host; entries without a platform are taken last (they are read to find out).</summary>
    private static ContentDescriptor PickManifest(string name, JsonElement index)
    {
        if (!index.TryGetProperty("manifests", out var manifests) || manifests.ValueKind != JsonValueKind.Array)
        {
            throw Unusable(name, "its index lists no manifests");
        }

        var seen = new List<string>();
        ContentDescriptor? unplatformed = null;
        foreach (var m in manifests.EnumerateArray())
        {
            if (!m.TryGetProperty("platform", out var p) || p.ValueKind != JsonValueKind.Object)
            {
                unplatformed ??= Descriptor(m);
                continue;
            }

            string os = p.TryGetProperty("os", out var o) ? o.GetString() ?? string.Empty : string.Empty;
            string arch = p.TryGetProperty("architecture", out var a) ? a.GetString() ?? string.Empty : string.Empty;
            if (os == HostOs && arch == HostArchitecture)
            {
                return Descriptor(m);
            }

            seen.Add($"{os}/{arch}");
        }

        return unplatformed ?? throw Unusable(name, $"it has no manifest for {HostOs}/{HostArchitecture} (only {string.Join(", ", seen.Distinct())})");
    }

    /// <summary>Runs a read of a manifest or index whose fields may be missing or of the wrong kind: that is the image's fault, said as such.</summary>
    private static T Malformed<T>(string name, ContentDescriptor desc, Func<T> read)
    {
        try
        {
            return read();
        }
        catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException)
        {
            throw Unusable(name, $"its {desc.Digest} is not a well-formed manifest or index ({e.Message})");
        }
    }

    private static ContentDescriptor Descriptor(JsonElement e) => new(
        e.TryGetProperty("mediaType", out var m) ? m.GetString() ?? string.Empty : string.Empty,
        e.GetProperty("digest").GetString() ?? string.Empty,
        e.TryGetProperty("size", out var s) && s.TryGetInt64(out long n) ? n : 0);

    private static ImageException Unusable(string name, string why) =>
        new(ImageFailure.Unusable, name, $"Image '{name}' cannot be run here: {why}.");
}
