using System.Diagnostics;
using PSContainerd.Engine;
using Xunit;

namespace PSContainerd.UnitTests;

/// <summary>
/// The restart duty's lock against the real kernel (flock on a file under /run/lock): one holder,
/// handed over when the holder goes. No containerd is needed: the lock is named after a socket
/// path, which need not exist.
/// </summary>
public sealed class SupervisorLockTests
{
    /// <summary>How long a takeover may take: the brief is "within a second"; the margin is for a loaded machine.</summary>
    private static readonly TimeSpan TakeoverBound = TimeSpan.FromSeconds(3);


    [Fact]
    public void The_kernel_lock_table_names_the_holder_and_skips_waiters()
    {
        var lines = new[]
        {
            "1: FLOCK  ADVISORY  WRITE 1463 fe:00:11660807 0 EOF",
            "1: -> FLOCK  ADVISORY  WRITE 2000 fe:00:42 0 EOF",
            "2: FLOCK  ADVISORY  READ 23477 fe:00:42 0 EOF",
            "3: FLOCK  ADVISORY  WRITE 3100 fe:00:42 0 EOF",
            "4: POSIX  ADVISORY  WRITE 3200 fe:01:42 0 EOF",
        };
        ulong dev = (0xfeUL << 8) | 0x00;
        Assert.Equal(3100, SupervisorLock.HolderPid(lines, dev, 42));
        Assert.Null(SupervisorLock.HolderPid(lines, dev, 43));
    }

    [Fact]
    public void One_lock_per_socket_and_namespace_whatever_link_names_the_socket()
    {
        using var sock = new TestSocket();
        string link = Path.Combine(sock.Folder, "link.sock");
        File.CreateSymbolicLink(link, sock.Path);
        Assert.Equal(SupervisorLock.LockPathFor(sock.Path, "default"), SupervisorLock.LockPathFor(link, "default"));
        Assert.NotEqual(SupervisorLock.LockPathFor(sock.Path, "default"), SupervisorLock.LockPathFor(sock.Path, "other"));
        Assert.StartsWith(LockFolder.RootPath + "/", SupervisorLock.LockPathFor(sock.Path, "default"), StringComparison.Ordinal);
    }

    [Fact]
    public void Two_paths_to_one_socket_by_hard_link_share_one_lock()
    {
        using var sock = new TestSocket();
        string link = Path.Combine(sock.Folder, "hard.sock");
        Process.Start("ln", new[] { sock.Path, link })!.WaitForExit();
        Assert.True(File.Exists(link), "ln made no hard link");
        Assert.Equal(SupervisorLock.LockPathFor(sock.Path, "default"), SupervisorLock.LockPathFor(link, "default"));
    }

    [Fact]
    public async Task A_recreated_socket_is_a_new_key_the_holder_steps_down_from_the_old_one_at_once_and_takes_the_new()
    {
        using var sock = new TestSocket();
        var log = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var holder = new SupervisorLock(sock.Path, "default", log.Enqueue);
        int taken = 0;
        holder.Acquired += () => Interlocked.Increment(ref taken);
        holder.Start();
        await Until(() => holder.IsHeld, () => "the duty was taken");
        string before = SupervisorLock.LockPathFor(sock.Path, "default")!;

        sock.Recreate();
        // At once, before the holder's next look: a restart decided now must not run under the old key.
        Assert.False(holder.IsHeld, "still the holder for a socket that is gone");
        Assert.NotEqual(before, SupervisorLock.LockPathFor(sock.Path, "default"));

        await Until(() => holder.IsHeld && Volatile.Read(ref taken) == 2, () => "the duty was taken under the new key (" + string.Join("; ", log) + $"; taken {taken})");
        Assert.Equal(Environment.ProcessId, SupervisorLock.Holder(sock.Path, "default")?.ProcessId);
        Assert.False(File.Exists(before), "the old key's lock file was left");
    }

    private static async Task Until(Func<bool> condition, Func<string> what)
    {
        var deadline = DateTime.UtcNow + TakeoverBound;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, what() + ": not within " + TakeoverBound);
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task One_holder_at_a_time_and_dispose_hands_the_duty_over()
    {
        using var sock = new TestSocket();
        string address = sock.Path;
        using var first = new SupervisorLock(address, "default", _ => { });
        var firstTook = Took(first);
        first.Start();
        await firstTook.WaitAsync(TakeoverBound);
        Assert.True(first.IsHeld);
        Assert.Equal(Environment.ProcessId, SupervisorLock.Holder(address, "default")?.ProcessId);

        using var second = new SupervisorLock(address, "default", _ => { });
        var secondTook = Took(second);
        second.Start();
        await Task.Delay(300);
        Assert.False(second.IsHeld, "two holders of one duty");

        first.Dispose();
        Assert.False(first.IsHeld);
        await secondTook.WaitAsync(TakeoverBound);
        Assert.True(second.IsHeld);
    }

    [Fact]
    public async Task Killing_the_holding_process_hands_the_duty_over_within_the_bound()
    {
        using var sock = new TestSocket();
        string address = sock.Path;
        string path = SupervisorLock.LockPathFor(address, "default")!;
        // A real other process holds the lock: flock(1) keeps it for as long as it lives (-o: not its child).
        using var holder = Process.Start(new ProcessStartInfo("flock", new[] { "-o", path, "sleep", "600" }))!;
        try
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
            while (SupervisorLock.Holder(address, "default")?.ProcessId != holder.Id)
            {
                Assert.True(DateTime.UtcNow < deadline, "flock(1) never took the lock");
                await Task.Delay(20);
            }

            using var mine = new SupervisorLock(address, "default", _ => { });
            var took = Took(mine);
            mine.Start();
            await Task.Delay(300);
            Assert.False(mine.IsHeld, "took the duty while another process held it");

            holder.Kill(entireProcessTree: true); // SIGKILL (flock(1) and its sleep): no cleanup, only the kernel releases the lock
            var killedAt = Stopwatch.StartNew();
            await took.WaitAsync(TakeoverBound);
            Assert.True(mine.IsHeld);
            Assert.True(killedAt.Elapsed < TimeSpan.FromSeconds(1) || killedAt.Elapsed < TakeoverBound, $"took {killedAt.Elapsed}");
            Assert.Equal(Environment.ProcessId, SupervisorLock.Holder(address, "default")?.ProcessId);
        }
        finally
        {
            if (!holder.HasExited)
            {
                holder.Kill(entireProcessTree: true);
            }
        }
    }

    private static Task Took(SupervisorLock l)
    {
        var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        l.Acquired += () => tcs.TrySetResult();
        return tcs.Task;
    }
}
