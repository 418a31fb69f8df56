using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace PSContainerd.Engine;

/// <summary>
/// What an image config (OCI image-spec config.json, which docker's v2 config matches) says about
/// the process and the root filesystem: the parts New-Container -Image uses.
/// </summary>
public sealed record ImageConfig(
    string Os,
    string Architecture,
    IReadOnlyList<string> Entrypoint,
    IReadOnlyList<string> Cmd,
    IReadOnlyList<string> Env,
    string WorkingDir,
    string User,
    string StopSignal,
    IReadOnlyDictionary<string, string> Labels,
    IReadOnlyList<string> DiffIds)
{
    public static ImageConfig Parse(ReadOnlySpan<byte> json)
    {
        using var doc = JsonDocument.Parse(json.ToArray());
        var root = doc.RootElement;
        var config = Member(root, "config");
        var rootfs = Member(root, "rootfs");
        return new ImageConfig(
            Text(root, "os"),
            Text(root, "architecture"),
            Strings(config, "Entrypoint"),
            Strings(config, "Cmd"),
            Strings(config, "Env"),
            Text(config, "WorkingDir"),
            Text(config, "User"),
            Text(config, "StopSignal"),
            Member(config, "Labels") is { ValueKind: JsonValueKind.Object } labels
                ? labels.EnumerateObject().Where(p => p.Value.ValueKind == JsonValueKind.String).ToDictionary(p => p.Name, p => p.Value.GetString()!, StringComparer.Ordinal)
                : new Dictionary<string, string>(StringComparer.Ordinal),
            Strings(rootfs, "diff_ids"));
    }

    /// <summary>
    /// The snapshot name an unpacked image's top layer has: containerd's identity.ChainID over the
    /// diff ids (the first layer's diff id, then sha256("PARENT DIFFID") for each next layer).
    /// </summary>
    public string ChainId()
    {
        if (DiffIds.Count == 0)
        {
            return string.Empty;
        }

        string chain = DiffIds[0];
        for (int i = 1; i < DiffIds.Count; i++)
        {
            chain = "sha256:" + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(chain + " " + DiffIds[i]))).ToLowerInvariant();
        }

        return chain;
    }

    /// <summary>
    /// The config's User as uid and gid: empty (root), "UID", "UID:GID" or "root". Other names
    /// would need the image's /etc/passwd, which the module does not read: false.
    /// </summary>
    public bool TryGetUser(out uint uid, out uint gid)
    {
        uid = 0;
        gid = 0;
        if (User.Length == 0)
        {
            return true;
        }

        var parts = User.Split(':', 2);
        if (!TryId(parts[0], out uid))
        {
            return false;
        }

        // docker: "UID" alone runs with that uid and gid 0 unless /etc/passwd says otherwise;
        // without reading it, gid 0 is what runc gets from containerd's WithUser for an unknown uid.
        return parts.Length == 1 || TryId(parts[1], out gid);
    }

    private static bool TryId(string s, out uint id)
    {
        id = 0;
        return s == "root" || uint.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out id);
    }

    private static JsonElement Member(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) ? v : default;

    private static string Text(JsonElement e, string name) =>
        Member(e, name) is { ValueKind: JsonValueKind.String } v ? v.GetString()! : string.Empty;

    private static IReadOnlyList<string> Strings(JsonElement e, string name) =>
        Member(e, name) is { ValueKind: JsonValueKind.Array } a
            ? a.EnumerateArray().Where(x => x.ValueKind == JsonValueKind.String).Select(x => x.GetString()!).ToList()
            : Array.Empty<string>();
}
