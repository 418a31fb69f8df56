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
    private readonly Socket _socket;

    public TestSocket()
    {
        Folder = Directory.CreateTempSubdirectory("pscd-unit-").FullName;
        Path = System.IO.Path.Combine(Folder, "containerd.sock");
        _socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _socket.Bind(new UnixDomainSocketEndPoint(Path));
        _socket.Listen();
    }

    public string Folder { get; }

    public string Path { get; }

    public void Dispose()
    {
        _socket.Dispose();
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
