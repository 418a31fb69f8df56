using PSContainerd.Engine;

namespace PSContainerd.Commands;

/// <summary>
/// New-Container -Mount 'SOURCE:DESTINATION[:ro|:rw]', as docker -v: SOURCE an existing host
/// file or folder (relative to the current location), DESTINATION an absolute path inside the
/// container, read-write unless `:ro`.
/// </summary>
internal static class MountArgument
{
    /// <summary>The bind mount <paramref name="text"/> asks for, or null with why not.</summary>
    public static (ContainerMount? Mount, string? Why) Parse(string text, Func<string, string?> resolveHostPath)
    {
        var parts = text.Split(':');
        bool? readOnly = parts.Length == 3 ? parts[2] switch { "ro" => true, "rw" => false, _ => null } : false;
        if (parts.Length is < 2 or > 3 || readOnly is null || parts[0].Length == 0 || parts[1].Length == 0)
        {
            return (null, "is not of the form SOURCE:DESTINATION or SOURCE:DESTINATION:ro (or :rw)");
        }

        if (!parts[1].StartsWith('/'))
        {
            return (null, $"has a destination ('{parts[1]}') that is not an absolute path inside the container");
        }

        if (resolveHostPath(parts[0]) is not { } source)
        {
            return (null, $"has a source ('{parts[0]}') that is not a usable host path");
        }

        if (!Directory.Exists(source) && !File.Exists(source))
        {
            return (null, $"has a source that does not exist on the host ('{source}')");
        }

        return (ContainerMount.Bind(source, parts[1], readOnly.Value), null);
    }
}
