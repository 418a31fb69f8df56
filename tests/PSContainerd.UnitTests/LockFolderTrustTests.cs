using System.Diagnostics;
using PSContainerd.Engine;
using Xunit;

namespace PSContainerd.UnitTests;

/// <summary>
/// A second local user (nobody: no access to the socket) against root's restart duty, through the
/// lock folder: it must not make root write through a link it planted, nor hold or take the duty.
/// The engine here runs as root (as the tests do); nobody acts through setpriv. See docs/supervisor.md, threat model.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class LockFolderTrustTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(5);

    [Fact]
    public void The_lock_folder_is_owned_by_root_and_writable_by_nobody_else()
    {
        using var sock = new TestSocket();
        string dir = Path.GetDirectoryName(SupervisorLock.LockPathFor(sock.Path, "default"))!;
        // stat(1) without -L describes the entry itself, a link included: "<uid> <octal mode> <type>".
        var psi = new ProcessStartInfo("stat", new[] { "-c", "%u %a %F", dir }) { RedirectStandardOutput = true };
        using var p = Process.Start(psi)!;
        var f = p.StandardOutput.ReadToEnd().Trim().Split(' ', 3);
        p.WaitForExit();
        Assert.Equal("directory", f[2]);
        Assert.Equal("0", f[0]);
        int mode = Convert.ToInt32(f[1], 8);
        Assert.True((mode & 0b000_010_010) == 0, $"{dir} has mode {f[1]}: group or others may write");
    }

    [Fact]
    public async Task Another_user_cannot_make_the_holder_write_through_a_planted_link()
    {
        using var sock = new TestSocket();
        string target = RootOnlyFile(sock, "secret", "root's data\n");
        string lockPath = SupervisorLock.LockPathFor(sock.Path, "default")!;
        // The name the holder's note had: <lock>.<pid>.holder. Planting may fail (the folder is not
        // nobody's to write): that is the defence; either way root must not write through it.
        AsNobody.Run($"ln -s '{target}' '{lockPath}.{Environment.ProcessId}.holder'");
        try
        {
            using var held = await HoldAsync(sock.Path);
            Assert.Equal("root's data\n", File.ReadAllText(target));
        }
        finally
        {
            File.Delete($"{lockPath}.{Environment.ProcessId}.holder");
        }
    }

    [Fact]
    public async Task Another_user_cannot_make_the_lock_create_a_file_through_a_planted_link()
    {
        using var sock = new TestSocket();
        string ns = "ns-" + Guid.NewGuid().ToString("N")[..8];
        string lockPath = SupervisorLock.LockPathFor(sock.Path, ns)!;
        string target = Path.Combine(sock.Folder, "made-by-root");
        AsNobody.Run($"ln -s '{target}' '{lockPath}'");
        try
        {
            using var held = new SupervisorLock(sock.Path, ns, _ => { });
            held.Start();
            await Task.Delay(500);
            Assert.False(File.Exists(target), "root created a file through nobody's link");
        }
        finally
        {
            File.Delete(lockPath);
        }
    }

    [Fact]
    public async Task Another_user_cannot_block_the_duty_by_holding_the_lock_file()
    {
        using var sock = new TestSocket();
        string ns = "ns-" + Guid.NewGuid().ToString("N")[..8];
        var first = await HoldAsync(sock.Path, ns);
        string lockPath = SupervisorLock.LockPathFor(sock.Path, ns)!;
        // nobody queues for the lock file root made (flock(1) waits for it), if it can open it at all.
        using var nobody = AsNobody.Start($"exec flock -o '{lockPath}' sleep 600");
        try
        {
            await Task.Delay(500);
            first.Dispose();
            using var second = await HoldAsync(sock.Path, ns);
            Assert.Equal(Environment.ProcessId, SupervisorLock.Holder(sock.Path, ns)?.ProcessId);
        }
        finally
        {
            first.Dispose();
            if (!nobody.HasExited)
            {
                nobody.Kill(true);
            }
        }
    }

    [Fact]
    public async Task Only_a_user_who_may_write_the_socket_can_open_its_lock_file()
    {
        using var shared = new TestSocket();
        using var rootOnly = new TestSocket();
        // The socket's group (nobody's group here) may use it: its members may hold the duty too.
        using (var chgrp = Process.Start("chgrp", new[] { "65534", shared.Path })!)
        {
            chgrp.WaitForExit();
            Assert.Equal(0, chgrp.ExitCode);
        }

        File.SetUnixFileMode(shared.Path, (UnixFileMode)0b110_110_000);
        File.SetUnixFileMode(rootOnly.Path, (UnixFileMode)0b110_100_100);
        string ns = "ns-" + Guid.NewGuid().ToString("N")[..8];
        using (await HoldAsync(shared.Path, ns))
        using (await HoldAsync(rootOnly.Path, ns))
        {
            string sharedLock = SupervisorLock.LockPathFor(shared.Path, ns)!;
            string rootLock = SupervisorLock.LockPathFor(rootOnly.Path, ns)!;
            Assert.Equal(0, AsNobody.Run($"exec 3<>'{sharedLock}'").ExitCode);
            var refused = AsNobody.Run($"exec 3<'{rootLock}'");
            Assert.NotEqual(0, refused.ExitCode);
            Assert.Contains("Permission denied", refused.Error);
        }
    }

    /// <summary>A file only root can read or write, in a folder only root can enter.</summary>
    private static string RootOnlyFile(TestSocket sock, string name, string content)
    {
        string dir = Path.Combine(sock.Folder, "root-only");
        Directory.CreateDirectory(dir);
        File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        string path = Path.Combine(dir, name);
        File.WriteAllText(path, content);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return path;
    }

    private static async Task<SupervisorLock> HoldAsync(string address, string ns = "default")
    {
        var l = new SupervisorLock(address, ns, _ => { });
        var took = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        l.Acquired += () => took.TrySetResult();
        l.Start();
        try
        {
            await took.Task.WaitAsync(Bound);
        }
        catch (TimeoutException)
        {
            l.Dispose();
            throw new Xunit.Sdk.XunitException($"this process did not take the duty within {Bound.TotalSeconds} s (holder: {SupervisorLock.Holder(address, ns)?.ProcessId})");
        }

        return l;
    }
}
