using PSContainerd.Containerd;
using System.Diagnostics;
using PSContainerd.Engine;
using Xunit;
using Xunit.Abstractions;

namespace PSContainerd.Tests;

/// <summary>
/// docs/failure-modes.md row 5: the init process in D state (moby#22802). A loop-mounted ext4 is bound into
/// the container, a shell loop writes to it, and <c>fsfreeze -f</c> blocks the writer in the kernel
/// (uninterruptible: SIGKILL stays pending until <c>fsfreeze -u</c>).
/// </summary>
[Collection(FailureCollection.Name)]
public sealed class DStateTests
{
    private readonly FailureContainerdFixture _fx;
    private readonly ITestOutputHelper _out;

    public DStateTests(FailureContainerdFixture fx, ITestOutputHelper output)
    {
        _fx = fx;
        _out = output;
    }

    private ContainerEngine Engine => _fx.Engine;

    [Fact]
    public async Task A_stop_of_a_process_in_D_state_fails_within_its_bound_naming_state_and_wchan_and_the_exit_is_recorded_after_thaw()
    {
        string dir = Path.Combine(Path.GetTempPath(), "pscd-dstate-" + Guid.NewGuid().ToString("N")[..8]);
        string image = Path.Combine(dir, "fs.img");
        string mnt = Path.Combine(dir, "mnt");
        string? loop = null;
        bool mounted = false, frozen = false;
        string? id = null;
        try
        {
            Directory.CreateDirectory(mnt);
            Host.Must("truncate", "-s", "64M", image);
            Host.Must("mkfs.ext4", "-q", "-F", image);
            loop = Host.Must("losetup", "-f", "--show", image).Trim();
            Host.Must("mount", loop, mnt);
            mounted = true;

            id = await _fx.NewContainerAsync("dstate", new[] { "/bin/sh", "-c", "while true; do echo x >> /data/f; done" },
                mounts: new[] { ContainerMount.Bind(mnt, "/data") });
            int pid = (int)(await _fx.Client.GetTaskAsync(id))!.Pid;
            string file = Path.Combine(mnt, "f");
            await Containers.Until(() => Task.FromResult(File.Exists(file) && new FileInfo(file).Length > 0), TimeSpan.FromSeconds(10), "the writer writing through the bind mount");

            Host.Must("fsfreeze", "-f", mnt);
            frozen = true;
            await Containers.Until(() => Task.FromResult(Host.State(pid)?.StartsWith('D') == true), TimeSpan.FromSeconds(10), $"pid {pid} in D state");

            var clock = Stopwatch.StartNew();
            var r = await Engine.StopAsync(id, null, 1, null).WaitAsync(TimeSpan.FromSeconds(30));
            var took = clock.Elapsed;
            string steps = string.Join("\n", r.Steps);
            _out.WriteLine($"took {took}\n{steps}\nError: {r.Error}");

            // 1 s grace + 5 s after SIGKILL + 2 s after the direct kill, plus RPC time.
            Assert.True(r.Outcome == StopOutcome.Failed, steps);
            Assert.Equal(StopEscalation.DirectKill, r.Escalation);
            Assert.True(took >= TimeSpan.FromSeconds(8), $"gave up early: {took}");
            Assert.True(took < TimeSpan.FromSeconds(12), $"took {took}");
            Assert.Null(r.ExitCode);
            Assert.Contains("D (disk sleep)", r.Error, StringComparison.Ordinal);
            Assert.Matches(@"wchan [a-z_]\w+", r.Error!); // e.g. percpu_rwsem_wait
            Assert.Contains(r.Steps, s => s.Action == "direct-kill" && s.Detail.Contains("pidfd", StringComparison.Ordinal));
            Assert.Equal("D (disk sleep)", Host.State(pid));

            // Remove-Container -Force refuses, naming what the process does, and keeps the record
            // of the live task (it used to delete it, leaving an invisible task and shim).
            var refused = await Assert.ThrowsAsync<ContainerdException>(() => Engine.RemoveAsync(id, force: true).WaitAsync(TimeSpan.FromSeconds(30)));
            _out.WriteLine(refused.Message);
            Assert.Equal(ContainerdErrorKind.FailedPrecondition, refused.Kind);
            Assert.Contains("D (disk sleep)", refused.Message, StringComparison.Ordinal);
            Assert.Equal(id, (await _fx.Client.GetContainerAsync(id)).Id);
            Assert.NotNull(await _fx.Client.GetTaskAsync(id));

            // The engine keeps watching: once the filesystem thaws the pending SIGKILL lands.
            var waiter = Engine.WaitAsync(id, WaitCondition.NotRunning, TimeSpan.FromSeconds(20));
            Assert.False(waiter.IsCompleted);
            Host.Must("fsfreeze", "-u", mnt);
            frozen = false;
            var w = await waiter;
            Assert.False(w.TimedOut, "no exit recorded after fsfreeze -u");
            Assert.Equal(137, w.ExitCode);
            await Containers.Until(async () => await _fx.Client.GetTaskAsync(id) is null, TimeSpan.FromSeconds(10), "the task deleted");
            Assert.Equal(137, (await Engine.WaitAsync(id, WaitCondition.NotRunning, TimeSpan.FromSeconds(1))).ExitCode);
        }
        finally
        {
            if (frozen)
            {
                Host.Run("fsfreeze", "-u", mnt);
            }

            if (id is not null)
            {
                await _fx.RemoveAsync(id);
            }

            if (mounted && Host.Run("umount", mnt).Code != 0)
            {
                Host.Run("umount", "-l", mnt);
            }

            if (loop is { Length: > 0 })
            {
                Host.Run("losetup", "-d", loop);
            }

            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
