using System.Diagnostics;
using System.Net.Sockets;

namespace PSContainerd.UnitTests;

/// <summary>
/// A real listening unix socket in a folder of its own (the lock is named after the socket's
/// inode, so it must exist), and the folder removed again. Nothing answers on it: no test here
/// needs containerd.
/// </summary>
internal sealed class TestSocket : IDisposable
{
    private readonly List<Socket> _replaced = new();
    private Socket _socket;

    public TestSocket()
    {
        Folder = Directory.CreateTempSubdirectory("pscd-unit-").FullName;
        Path = System.IO.Path.Combine(Folder, "containerd.sock");
        _socket = Listen(Path);
    }

    /// <summary>
    /// What containerd does when it restarts: a new socket at the same path. Bound beside it and
    /// renamed over it while the old one is still open, so the file system cannot hand the new
    /// socket the old inode number (which would make it the same key, and no test). The old one
    /// is closed only at the end: closing a bound socket removes the file at its path.
    /// </summary>
    public void Recreate()
    {
        var fresh = Listen(Path + ".new");
        File.Move(Path + ".new", Path, overwrite: true);
        _replaced.Add(_socket);
        _socket = fresh;
    }

    private static Socket Listen(string path)
    {
        var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        s.Bind(new UnixDomainSocketEndPoint(path));
        s.Listen();
        return s;
    }

    public string Folder { get; }

    public string Path { get; }

    public void Dispose()
    {
        _socket.Dispose();
        _replaced.ForEach(s => s.Dispose());
        Directory.Delete(Folder, true);
    }
}

/// <summary>Runs a shell command as the unprivileged local user nobody (uid and gid 65534, no groups): the other user of the threat model.</summary>
internal static class AsNobody
{
    public static (int ExitCode, string Error) Run(string script)
    {
        var psi = new ProcessStartInfo("setpriv", new[] { "--reuid=65534", "--regid=65534", "--clear-groups", "sh", "-c", script })
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        using var p = Process.Start(psi)!;
        string err = p.StandardError.ReadToEnd();
        if (!p.WaitForExit(30_000))
        {
            p.Kill(true);
            throw new TimeoutException($"as nobody: '{script}' did not end in 30 s");
        }

        return (p.ExitCode, err);
    }

    /// <summary>A process of nobody's that runs <paramref name="script"/> until killed.</summary>
    public static Process Start(string script) =>
        Process.Start(new ProcessStartInfo("setpriv", new[] { "--reuid=65534", "--regid=65534", "--clear-groups", "sh", "-c", script })
        {
            RedirectStandardError = true,
        })!;
}
