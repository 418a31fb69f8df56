namespace PSContainerd.Commands;

/// <summary>
/// What -Address and $env:CONTAINERD_ADDRESS may say: a path, or a `unix://` address as ctr,
/// nerdctl and containerd's own config write it. `unix:///run/x.sock` is /run/x.sock; without
/// the prefix a relative path is relative to <c>baseDirectory</c>, as every PowerShell path.
/// </summary>
internal static class SocketAddress
{
    private const string UnixScheme = "unix://";

    /// <summary>The socket's full path.</summary>
    public static string ToPath(string address, string? baseDirectory = null)
    {
        string path = address.StartsWith(UnixScheme, StringComparison.OrdinalIgnoreCase) ? address[UnixScheme.Length..] : address;
        return Path.IsPathRooted(path) ? Path.GetFullPath(path)
            : baseDirectory is null ? Path.GetFullPath(path) : Path.GetFullPath(path, baseDirectory);
    }
}
