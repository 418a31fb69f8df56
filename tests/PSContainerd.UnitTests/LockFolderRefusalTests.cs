using PSContainerd.Engine;
using Xunit;

namespace PSContainerd.UnitTests;

/// <summary>
/// A lock folder that cannot be trusted is refused, with the reason said through the engine's
/// diagnostics and in the look Get-ContainerSupervisor takes; nothing in it is opened or followed.
/// The folder is given explicitly (the usual one, in /run, cannot be planted by another user).
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class LockFolderRefusalTests
{
    [Fact]
    public async Task A_lock_folder_another_user_made_is_refused_and_the_reason_is_said()
    {
        using var sock = new TestSocket();
        File.SetUnixFileMode(sock.Folder, (UnixFileMode)0b111_111_111);
        string folder = Path.Combine(sock.Folder, "locks");
        Assert.Equal(0, AsNobody.Run($"mkdir -m 0777 '{folder}'").ExitCode);
        var (problem, log) = await RefusalAsync(sock.Path, folder);
        Assert.Contains("belongs to uid 65534", problem);
        Assert.Contains(log, l => l.Contains("belongs to uid 65534", StringComparison.Ordinal));
        var look = SupervisorLock.Look(sock.Path, "default", folder);
        Assert.True(look.UnsafeFolder);
        Assert.Null(look.Holder);
        Assert.Empty(Directory.GetFiles(folder));
    }

    [Fact]
    public async Task A_lock_folder_others_may_write_is_refused_even_when_root_owns_it()
    {
        using var sock = new TestSocket();
        string folder = Path.Combine(sock.Folder, "locks");
        Directory.CreateDirectory(folder);
        File.SetUnixFileMode(folder, (UnixFileMode)0b1_111_111_111);
        var (problem, _) = await RefusalAsync(sock.Path, folder);
        Assert.Contains("mode 1777", problem);
        Assert.Empty(Directory.GetFiles(folder));
    }

    [Fact]
    public async Task A_link_in_place_of_the_lock_folder_or_the_lock_file_is_not_followed()
    {
        using var sock = new TestSocket();
        string real = Path.Combine(sock.Folder, "real");
        Directory.CreateDirectory(real);
        string linkedFolder = Path.Combine(sock.Folder, "linked");
        Directory.CreateSymbolicLink(linkedFolder, real);
        var (problem, _) = await RefusalAsync(sock.Path, linkedFolder);
        Assert.Contains("is a link", problem);
        Assert.Empty(Directory.GetFiles(real));

        string folder = Path.Combine(sock.Folder, "locks");
        Directory.CreateDirectory(folder);
        string target = Path.Combine(sock.Folder, "made-through-the-link");
        string lockPath = SupervisorLock.LockPathFor(sock.Path, "default", folder)!;
        File.CreateSymbolicLink(lockPath, target);
        (problem, _) = await RefusalAsync(sock.Path, folder);
        Assert.Contains("is a link; not following it", problem);
        Assert.False(File.Exists(target), "a file was made through the link");
        Assert.Null(await new ContainerLock(sock.Path, "default", folder).AcquireAsync("web", TimeSpan.FromMilliseconds(100)));
        Assert.False(File.Exists(target), "the container lock made a file through the link");
    }

    /// <summary>Starts a lock on (<paramref name="address"/>, default) in <paramref name="folder"/> and waits for it to say why it does not contend.</summary>
    private static async Task<(string Problem, List<string> Log)> RefusalAsync(string address, string folder)
    {
        var log = new List<string>();
        using var l = new SupervisorLock(address, "default", m => { lock (log) { log.Add(m); } }, folder);
        l.Start();
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (l.Problem is null)
        {
            Assert.True(DateTime.UtcNow < deadline, "no reason was given");
            await Task.Delay(20);
        }

        await Task.Delay(SupervisorLock.Poll * 2);
        Assert.False(l.IsHeld, "took the duty in a folder it must refuse");
        lock (log)
        {
            return (l.Problem!, log.ToList());
        }
    }
}
