using System.Diagnostics;
using PSContainerd.Engine;
using Xunit;

namespace PSContainerd.Tests;

/// <summary>
/// docs/failure-modes.md row 10: the container's init pid reused by a host process before the direct kill
/// (crun#1200, containerd#5630). The reuse is real: after the init process exits and its shim
/// reaps it, a host <c>sleep</c> is created with exactly that pid by clone3(2) with set_tid
/// (Linux 5.5, root), through perl's syscall() (perl-base is on every Debian). kernel.pid_max is
/// left alone: it is host-wide.
/// </summary>
[Collection(ContainerdCollection.Name)]
public sealed class PidReuseTests
{
    private const string Clone3WithPid = """
        my $target = shift;
        my $tids = pack("l", $target);
        my $args = pack("QQQQQQQQQQ", 0, 0, 0, 0, 17, 0, 0, 0, unpack("Q", pack("P", $tids)), 1);
        my $r = syscall(435, $args, 80);
        if ($r == 0) { open(STDOUT, ">", "/dev/null"); open(STDERR, ">", "/dev/null"); exec("/bin/sleep", "1000") or exit 127; }
        if ($r < 0) { print "ERR $!\n"; exit 1; }
        $| = 1; print "$r\n"; waitpid($r, 0);
        """;

    private readonly ContainerdFixture _fx;

    public PidReuseTests(ContainerdFixture fx) => _fx = fx;

    [Fact]
    public async Task A_host_process_that_got_the_init_pid_survives_the_direct_kill_and_fails_the_cgroup_check()
    {
        string id = await _fx.NewContainerAsync("pidreuse", Containers.IgnoresTerm);
        Process? helper = null;
        int pid = 0;
        try
        {
            pid = (int)(await _fx.Client.GetTaskAsync(id))!.Pid;
            using var handle = InitProcessHandle.Open(pid, _fx.Namespace, id, out var why);
            Assert.True(handle is not null, why);

            // The init process dies and is reaped by its shim: its pid is free again.
            await _fx.Client.KillAsync(id, Host.SIGKILL);
            await Containers.Until(() => Task.FromResult(!Directory.Exists($"/proc/{pid}")), TimeSpan.FromSeconds(10), $"pid {pid} reaped");

            // A host process takes exactly that pid.
            helper = Process.Start(new ProcessStartInfo("perl", new[] { "-e", Clone3WithPid, pid.ToString(System.Globalization.CultureInfo.InvariantCulture) })
            { RedirectStandardOutput = true, RedirectStandardError = true })!;
            string line = (await helper.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10)))?.Trim() ?? "(none)";
            if (line != pid.ToString(System.Globalization.CultureInfo.InvariantCulture))
            {
                helper.WaitForExit(5000);
                Assert.Fail($"clone3 with set_tid={pid} answered: {line}");
            }

            Assert.True(Containers.Alive(pid), "the host process holding the old pid");
            Assert.DoesNotContain(id, File.ReadAllText($"/proc/{pid}/cgroup"), StringComparison.Ordinal);

            // The pidfd still names the dead init process: the signal goes nowhere.
            int errno = handle!.Send(Host.SIGKILL);
            Assert.Equal("process already exited", InitProcessHandle.Describe(errno));
            Assert.True(handle.HasExited);

            // A handle opened now (a stop starting after the reuse) refuses the impostor.
            Assert.Null(InitProcessHandle.Open(pid, _fx.Namespace, id, out var why2));
            Assert.Contains("not in container", why2, StringComparison.Ordinal);

            await Task.Delay(200); // a wrongly delivered SIGKILL would have landed by now
            Assert.True(Containers.Alive(pid), "the host process that reused the pid was killed");
        }
        finally
        {
            if (helper is not null)
            {
                if (pid > 0 && Containers.Alive(pid) && File.ReadAllText($"/proc/{pid}/cmdline").StartsWith("/bin/sleep", StringComparison.Ordinal))
                {
                    Host.Run("kill", "-9", pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
                }

                if (!helper.WaitForExit(5000))
                {
                    helper.Kill();
                }

                helper.Dispose();
            }

            await _fx.RemoveAsync(id);
        }
    }
}
