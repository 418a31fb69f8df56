using System.Net.Http;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace PSContainerd.Containerd;

/// <summary>
/// Tells why a unix socket cannot be reached, so "containerd is not running at PATH" reads as
/// such rather than as a gRPC status: missing path, a path that is not a socket, nothing
/// listening, or no permission.
/// </summary>
internal static class SocketProbe
{
    private const uint S_IFMT = 0xF000;
    private const uint S_IFSOCK = 0xC000;

    [DllImport("libc", EntryPoint = "stat", SetLastError = true)]
    private static extern unsafe int Stat(string path, byte* buf);

    /// <summary>The file type of PATH: "socket", "missing", "directory", "regular file", "other".</summary>
    public static unsafe string Describe(string path)
    {
        // struct stat's st_mode sits at offset 24 on x86_64 and 16 on arm64 (glibc >= 2.33 exports stat).
        // File.Exists is no help: it is false for a socket.
        int offset = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? 16 : 24;
        byte* buf = stackalloc byte[256];
        try
        {
            if (Stat(path, buf) != 0)
            {
                return Marshal.GetLastPInvokeError() == 2 ? "missing" : "other";
            }
        }
        catch (EntryPointNotFoundException)
        {
            return File.Exists(path) || Directory.Exists(path) ? "other" : "missing";
        }

        uint mode = *(uint*)(buf + offset);
        return (mode & S_IFMT) switch
        {
            S_IFSOCK => "socket",
            0x8000 => "regular file",
            0x4000 => "directory",
            _ => "other",
        };
    }

    /// <summary>Turns a failed connect into the error the user should read.</summary>
    public static ContainerdException Explain(string address, Exception cause)
    {
        SocketException? se = Find<SocketException>(cause);
        if (se?.SocketErrorCode == SocketError.AccessDenied)
        {
            return new ContainerdException(ContainerdErrorKind.PermissionDenied, address,
                $"Permission denied connecting to containerd socket '{address}': run as root or as a member of the socket's group.", cause);
        }

        string kind = Describe(address);
        string why = kind switch
        {
            "missing" => $"the socket '{address}' does not exist",
            "directory" => $"'{address}' is a directory, not a socket",
            "regular file" => $"'{address}' is a regular file, not a socket",
            "socket" => $"nothing is listening on socket '{address}'",
            _ => $"'{address}' is not a socket",
        };
        return new ContainerdException(ContainerdErrorKind.Unavailable, address,
            $"containerd is not running at '{address}': {why} (tried to connect; {Inner(cause).Message.TrimEnd('.')}).", cause);
    }

    /// <summary>
    /// Whether a call failed because the peer answered with something other than HTTP/2 (an
    /// HTTP/1.1 server, a line of text, another daemon's protocol): the socket is live, and what
    /// listens on it is not containerd. Not for a peer that accepted and closed without a word
    /// (containerd shutting down does that too).
    /// </summary>
    public static bool IsForeignProtocol(Exception cause) =>
        Find<HttpProtocolException>(cause) is not null
        || (Find<HttpRequestException>(cause) is { HttpRequestError: HttpRequestError.InvalidResponse or HttpRequestError.HttpProtocolError }
            && Find<HttpIOException>(cause) is not { HttpRequestError: HttpRequestError.ResponseEnded });

    /// <summary>The error for a socket <see cref="IsForeignProtocol"/> found live but not containerd.</summary>
    public static ContainerdException ForeignProtocol(string address, Exception cause) =>
        new(ContainerdErrorKind.Unavailable, address,
            $"containerd is not running at '{address}': something answers on the socket, but this socket does not speak containerd's API (gRPC over HTTP/2; {Inner(cause).Message.TrimEnd('.')}). Check -Address or $env:CONTAINERD_ADDRESS.", cause);

    internal static T? Find<T>(Exception? e) where T : Exception
    {
        for (; e is not null; e = e.InnerException)
        {
            if (e is T t)
            {
                return t;
            }
        }

        return null;
    }

    private static Exception Inner(Exception e)
    {
        while (e.InnerException is not null)
        {
            e = e.InnerException;
        }

        return e;
    }
}
