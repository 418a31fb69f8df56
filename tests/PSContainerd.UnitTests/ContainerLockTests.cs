using System.Diagnostics;
using PSContainerd.Engine;
using Xunit;

namespace PSContainerd.UnitTests;

/// <summary>
/// The short per-container lock a restart and a stop by hand take across processes (docs/architecture.md,
/// Ownership rule 7), against the real kernel. Two descriptors exclude each other as two processes would.
/// </summary>
public sealed class ContainerLockTests
{
    private static ContainerLock NewLock(out string ns)
    {
        ns = "unit-" + Guid.NewGuid().ToString("N")[..8];
        return new ContainerLock($"/tmp/pscd-unit-{Guid.NewGuid():N}.sock", ns);
    }

    [Fact]
    public async Task A_second_taker_waits_until_the_first_releases_and_gives_up_at_its_timeout()
    {
        var locks = NewLock(out _);
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
        var locks = NewLock(out _);
        var first = await locks.AcquireAsync("db", TimeSpan.FromSeconds(1));
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => locks.AcquireAsync("db", TimeSpan.FromSeconds(30), cts.Token));
        first!.Dispose();
        using var again = await locks.AcquireAsync("db", TimeSpan.FromMilliseconds(100));
        Assert.NotNull(again);
    }

    [Fact]
    public void A_fixed_number_of_files_beside_the_supervisor_lock_one_per_id_always_the_same()
    {
        string address = $"/tmp/pscd-unit-{Guid.NewGuid():N}.sock";
        var locks = new ContainerLock(address, "ns");
        string duty = SupervisorLock.LockPathFor(address, "ns");
        var paths = Enumerable.Range(0, 1000).Select(i => locks.PathFor("c" + i)).Distinct().ToList();
        Assert.True(paths.Count <= ContainerLock.Stripes, $"{paths.Count} files");
        Assert.All(paths, p => Assert.StartsWith(duty[..^".lock".Length] + ".c", p, StringComparison.Ordinal));
        Assert.Equal(locks.PathFor("web"), new ContainerLock(address, "ns").PathFor("web"));
        Assert.NotEqual(locks.PathFor("web"), new ContainerLock(address, "other").PathFor("web"));
    }
}
