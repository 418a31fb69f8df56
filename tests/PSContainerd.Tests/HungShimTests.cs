using System.Diagnostics;
using PSContainerd.Engine;
using Xunit;
using Xunit.Abstractions;

namespace PSContainerd.Tests;

/// <summary>docs/failure-modes.md row 4: the shim is alive but hung (containerd#12678, #13849), made so with SIGSTOP.</summary>
[Collection(FailureCollection.Name)]
public sealed class HungShimTests
{
    private readonly FailureContainerdFixture _fx;
    private readonly ITestOutputHelper _out;

    public HungShimTests(FailureContainerdFixture fx, ITestOutputHelper output)
    {
        _fx = fx;
        _out = output;
    }

    private ContainerEngine Engine => _fx.Engine;

    [Fact]
    public async Task A_stop_through_a_frozen_shim_ends_within_its_bound_and_the_real_exit_is_recorded_after_thaw()
    {
        string hung = await _fx.NewContainerAsync("hung", Containers.IgnoresTerm);
        string other = await _fx.NewContainerAsync("other", Containers.IgnoresTerm);
        int shim = -1;
        bool frozen = false;
        try
        {
            shim = Containers.ShimPid(_fx.Namespace, hung) ?? throw new InvalidOperationException("no shim found for " + hung);
            Assert.NotEqual(shim, Containers.ShimPid(_fx.Namespace, other)); // one shim per container
            int pid = (int)(await _fx.Client.GetTaskAsync(hung))!.Pid;

            Host.Signal(shim, Host.SIGSTOP);
            frozen = true;
            await Containers.Until(() => Task.FromResult(Host.State(shim)?.StartsWith('T') == true), TimeSpan.FromSeconds(5), "the shim stopped");

            var clock = Stopwatch.StartNew();
            var stopHung = Engine.StopAsync(hung, null, 1, null);
            var stopOther = Engine.StopAsync(other, null, 1, null);

            // The other container's stop is not held up by the hung shim: the usual 1 s grace + SIGKILL.
            var ro = await stopOther.WaitAsync(TimeSpan.FromSeconds(10));
            var otherTook = clock.Elapsed;
            Assert.True(ro.Outcome == StopOutcome.Stopped, string.Join("\n", ro.Steps));
            Assert.Equal(137, ro.ExitCode);
            Assert.Equal(StopEscalation.Kill, ro.Escalation);
            Assert.True(otherTook < TimeSpan.FromSeconds(4), $"the other container's stop took {otherTook}");

            // Bound: signal and kill RPCs 2 s each, no KillWait (nothing was delivered), direct kill
            // wait 2 s, then at most the 15 s wait for the exit record (task delete deadline 5 s). 30 s is loose.
            var r = await stopHung.WaitAsync(TimeSpan.FromSeconds(30));
            var took = clock.Elapsed;
            string steps = string.Join("\n", r.Steps);
            _out.WriteLine($"other took {otherTook}; hung took {took}\n{steps}\nError: {r.Error}");
            Assert.True(took < TimeSpan.FromSeconds(30), $"took {took}\n{steps}");

            // The pidfd kill needs no shim: the process is dead (a zombie of the frozen shim).
            Assert.False(Containers.Alive(pid), $"pid {pid} still alive\n{steps}");
            Assert.Contains(r.Steps, s => s.Action == "direct-kill" && s.Detail.Contains("pidfd", StringComparison.Ordinal));
            Assert.Equal(StopEscalation.DirectKill, r.Escalation);
            // The status is unknown while the shim is frozen (only the shim reaps the process):
            // recorded as 255 with the reason; the result says so.
            Assert.True(r.Outcome == StopOutcome.Stopped, steps);
            Assert.Equal(255, r.ExitCode);
            Assert.Contains("unknown", r.Error ?? string.Empty, StringComparison.Ordinal);

            var w = await Engine.WaitAsync(hung, WaitCondition.NotRunning, TimeSpan.FromSeconds(1));
            Assert.Equal(255, w.ExitCode);
            var nextExit = Engine.WaitAsync(hung, WaitCondition.NextExit, TimeSpan.FromSeconds(60));

            Host.Signal(shim, Host.SIGCONT);
            frozen = false;

            // The shim reaps and reports the real status: the record is corrected to 137 ...
            await Containers.Until(async () => (await Engine.WaitAsync(hung, WaitCondition.NotRunning, TimeSpan.FromSeconds(1))).ExitCode == 137,
                TimeSpan.FromSeconds(15), "the exit corrected to 137");
            await Containers.Until(async () => await _fx.Client.GetTaskAsync(hung) is null, TimeSpan.FromSeconds(15), "the task deleted");
            var rec = await _fx.Client.GetContainerAsync(hung);
            Assert.Equal("137", rec.Labels.Get(StateLabels.ExitCode));

            // ... without waking waiters again or restarting anything.
            Assert.False(nextExit.IsCompleted, "a NextExit waiter was woken by the correction");
            var again = await Engine.StopAsync(hung, null, 1, null);
            Assert.Equal(StopOutcome.AlreadyStopped, again.Outcome);
            Assert.Equal(137, again.ExitCode);
            var restored = await Engine.RestoreOneAsync(hung, stopRunning: false);
            Assert.Equal(RestoreAction.Unchanged, restored.Action);
            Assert.Equal(137, restored.ExitCode);
        }
        finally
        {
            if (frozen && shim > 0)
            {
                try
                {
                    Host.Signal(shim, Host.SIGCONT);
                }
                catch (InvalidOperationException)
                {
                }
            }

            await _fx.RemoveAsync(hung);
            await _fx.RemoveAsync(other);
        }
    }
}
