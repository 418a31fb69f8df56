using System.Diagnostics;
using PSContainerd.Engine;
using Xunit;

namespace PSContainerd.UnitTests;

/// <summary>
/// The short per-container lock a restart and a stop by hand take across processes (docs/architecture.md,
/// Ownership rule 7), against the real kernel. Two descriptors exclude each other as two processes would.
/// </summary>
[Collection(Alone.Name)]
public sealed class ContainerLockTests
{
    private static ContainerLock NewLock(TestSocket sock) => new(sock.Path, "unit-" + Guid.NewGuid().ToString("N")[..8]);

    [Fact]
    public async Task A_second_taker_waits_until_the_first_releases_and_gives_up_at_its_timeout()
    {
        using var sock = new TestSocket();
        var locks = NewLock(sock);
        using (var first = await locks.AcquireAsync("web", TimeSpan.FromSeconds(1)))
        {
            Assert.NotNull(first);
            var clock = Stopwatch.StartNew();
            Assert.Null(await locks.AcquireAsync("web", TimeSpan.FromMilliseconds(200)));
            Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(200), $"gave up after {clock.Elapsed}");

            var waiting = locks.AcquireAsync("web", TimeSpan.FromSeconds(10));
            Assert.False(waiting.IsCompleted);
            first!.Dispose();
            using var second = await waiting.WaitAsync(TimeSpan.FromSeconds(5));
            Assert.NotNull(second);
        }
    }

    [Fact]
    public async Task A_cancelled_wait_throws_and_leaves_the_lock_free()
    {
        using var sock = new TestSocket();
        var locks = NewLock(sock);
        var first = await locks.AcquireAsync("db", TimeSpan.FromSeconds(1));
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => locks.AcquireAsync("db", TimeSpan.FromSeconds(30), cts.Token));
        first!.Dispose();
        using var again = await locks.AcquireAsync("db", TimeSpan.FromMilliseconds(100));
        Assert.NotNull(again);
    }

    [Fact]
    public async Task Container_locks_are_ranges_of_the_duty_lock_file_and_make_no_files_of_their_own()
    {
        using var sock = new TestSocket();
        string ns = "unit-" + Guid.NewGuid().ToString("N")[..8];
        var locks = new ContainerLock(sock.Path, ns);
        using var duty = new SupervisorLock(sock.Path, ns, _ => { });
        duty.Start();
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (!duty.IsHeld)
        {
            Assert.True(DateTime.UtcNow < deadline, "the duty was not taken");
            await Task.Delay(20);
        }

        string folder = Path.GetDirectoryName(SupervisorLock.LockPathFor(sock.Path, ns))!;
        var before = Directory.GetFiles(folder).Length;
        var held = new List<IDisposable>();
        for (int i = 0; i < 200; i++)
        {
            held.Add((await locks.AcquireAsync("c" + i, TimeSpan.FromSeconds(1)))!);
        }

        Assert.All(held, Assert.NotNull);
        Assert.True(Directory.GetFiles(folder).Length <= before, "container locks made files");
        Assert.Equal(ContainerLock.OffsetFor("web"), ContainerLock.OffsetFor("web"));
        Assert.NotEqual(ContainerLock.OffsetFor("web"), ContainerLock.OffsetFor("db"));
        held.ForEach(h => h.Dispose());
    }
}
