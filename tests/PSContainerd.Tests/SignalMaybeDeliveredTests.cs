using PSContainerd.Engine;
using Xunit;
using Xunit.Abstractions;

namespace PSContainerd.Tests;

/// <summary>
/// A stop signal whose RPC failed with DeadlineExceeded may still have been delivered: the grace
/// period runs, and a -1 stop is never forced (moby keeps waiting too, daemon/stop.go). The RPC
/// is made to time out for real by freezing the container's shim (SIGSTOP). The containers' init
/// processes cannot be verified (<see cref="UnverifiedContainer"/>), so their signals go through
/// containerd's Kill: a signal sent through a pidfd is delivered when the call returns, whatever
/// the shim does.
/// </summary>
[Collection(FailureCollection.Name)]
public sealed class SignalMaybeDeliveredTests
{
    private readonly FailureContainerdFixture _fx;
    private readonly ITestOutputHelper _out;

    public SignalMaybeDeliveredTests(FailureContainerdFixture fx, ITestOutputHelper output)
    {
        _fx = fx;
        _out = output;
    }

    private ContainerEngine Engine => _fx.Engine;

    [Fact]
    public async Task The_grace_period_still_runs_after_a_timed_out_stop_signal_and_minus_1_is_never_forced()
    {
        string graceful = await UnverifiedContainer.StartAsync(_fx, "e3t", Containers.IgnoresTerm);
        string never = await UnverifiedContainer.StartAsync(_fx, "e3n", Containers.IgnoresTerm);
        var shims = Array.Empty<int>();
        bool frozen = false;
        try
        {
            shims = new[] { Containers.ShimPid(_fx.Namespace, graceful)!.Value, Containers.ShimPid(_fx.Namespace, never)!.Value };
            foreach (var shim in shims)
            {
                Host.Signal(shim, Host.SIGSTOP);
            }

            frozen = true;
            foreach (var shim in shims)
            {
                await Containers.Until(() => Task.FromResult(Host.State(shim)?.StartsWith('T') == true), TimeSpan.FromSeconds(5), "the shim stopped");
            }

            var forever = Engine.StopAsync(never, null, -1, null);
            var r = await Engine.StopAsync(graceful, null, 3, null).WaitAsync(TimeSpan.FromSeconds(40));
            string steps = string.Join("\n", r.Steps);
            _out.WriteLine(steps);
            var signal = r.Steps.First(s => s.Kind == StopStepKind.Signal);
            Assert.Contains("may not have been delivered", signal.Detail, StringComparison.Ordinal);
            Assert.DoesNotContain(r.Steps, s => s.Kind == StopStepKind.Escalate);
            var timeout = Assert.Single(r.Steps, s => s.Kind == StopStepKind.Timeout);
            Assert.True(timeout.At - signal.At >= TimeSpan.FromSeconds(2.9), $"the grace period was cut short\n{steps}");

            // The -1 stop: still waiting, nothing forced.
            Assert.False(forever.IsCompleted, "a -1 stop ended while its signal's fate is unknown");
            Assert.True(Engine.StateOf(never).StopInFlight, "the -1 stop is no longer in flight");

            foreach (var shim in shims)
            {
                Host.Signal(shim, Host.SIGCONT);
            }

            frozen = false;

            // A joiner with a timeout brings the escalation forward; only then is SIGKILL sent.
            var joined = await Engine.StopAsync(never, null, 0, null).WaitAsync(TimeSpan.FromSeconds(30));
            var first = await forever.WaitAsync(TimeSpan.FromSeconds(5));
            string neverSteps = string.Join("\n", first.Steps);
            _out.WriteLine(neverSteps);
            Assert.Equal(StopOutcome.Stopped, first.Outcome);
            var joinedAt = first.Steps.First(s => s.Kind == StopStepKind.Joined).At;
            Assert.All(first.Steps.Where(s => s.Kind is StopStepKind.Kill or StopStepKind.DirectKill), s => Assert.True(s.At >= joinedAt, $"forced before anyone asked for a timeout\n{neverSteps}"));
            Assert.Equal(joined.ExitCode, first.ExitCode);
        }
        finally
        {
            if (frozen)
            {
                foreach (var shim in shims)
                {
                    Host.Signal(shim, Host.SIGCONT);
                }
            }

            await _fx.RemoveAsync(graceful);
            await _fx.RemoveAsync(never);
        }
    }
}
