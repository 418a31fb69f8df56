using System.Diagnostics;
using PSContainerd.Engine;
using Xunit;
using Xunit.Abstractions;

namespace PSContainerd.Tests;

/// <summary>
/// docs/failure-modes.md row 9: a signal refused with EACCES (an LSM; moby#36809, #47720). No LSM policy is
/// loaded here, so the fixture's runc wrapper plays the refusal: real containerd, real shim, and a
/// <c>runc kill</c> that fails the way runc does when kill(2) answers EACCES. A container whose init
/// process is verified is signalled through its pidfd, which that refusal does not concern
/// (<see cref="SignalRouteTests"/>); these containers' init processes cannot be verified
/// (<see cref="UnverifiedContainer"/>), so every signal goes through containerd's Kill.
/// </summary>
[Collection(FailureCollection.Name)]
public sealed class SignalRefusedTests
{
    private readonly FailureContainerdFixture _fx;
    private readonly ITestOutputHelper _out;

    public SignalRefusedTests(FailureContainerdFixture fx, ITestOutputHelper output)
    {
        _fx = fx;
        _out = output;
    }

    [Fact]
    public async Task A_refused_signal_is_its_own_step_and_the_stop_escalates_without_waiting_the_grace_period()
    {
        string id = await UnverifiedContainer.StartAsync(_fx, "refused", Containers.IgnoresTerm);
        try
        {
            int pid = (int)(await _fx.Client.GetTaskAsync(id))!.Pid;
            File.AppendAllText(_fx.RefuseKillFile, id + "\n");

            var clock = Stopwatch.StartNew();
            var r = await _fx.Engine.StopAsync(id, null, 30, null).WaitAsync(TimeSpan.FromSeconds(20));
            var took = clock.Elapsed;
            string steps = string.Join("\n", r.Steps);
            _out.WriteLine($"took {took}\n{steps}\nError: {r.Error}");

            // Both containerd signals refused, each reported as such ...
            var refused = r.Steps.Where(s => s.Action == "refused").ToList();
            Assert.Equal(2, refused.Count);
            Assert.Contains("SIGTERM", refused[0].Detail, StringComparison.Ordinal);
            Assert.Contains("SIGKILL", refused[1].Detail, StringComparison.Ordinal);
            Assert.All(refused, s => Assert.Contains("permission denied", s.Detail, StringComparison.Ordinal));
            Assert.All(refused, s => Assert.Equal(SignalRoute.Containerd, s.Route));
            Assert.DoesNotContain(r.Steps, s => s.Action == "timeout");

            // ... no 30 s grace period and no 5 s KillWait spent waiting for a signal that never
            // went out: with no verified pidfd either, the stop says at once that it cannot kill.
            Assert.True(took < TimeSpan.FromSeconds(3), $"took {took}\n{steps}");
            Assert.True(r.Outcome == StopOutcome.Failed, steps);
            Assert.Equal(StopEscalation.Kill, r.Escalation); // SIGKILL was tried; no direct kill was possible
            Assert.DoesNotContain(r.Steps, s => s.Kind == StopStepKind.DirectKill);
            Assert.Contains("could not be killed", r.Error, StringComparison.Ordinal);
            Assert.Contains("refused", r.Error, StringComparison.Ordinal);
            Assert.Null(r.ExitCode);
            Assert.True(Containers.Alive(pid));

            // Once the refusal is lifted, a later stop finishes the job.
            File.WriteAllText(_fx.RefuseKillFile, string.Empty);
            var again = await _fx.Engine.StopAsync(id, null, 0, null).WaitAsync(TimeSpan.FromSeconds(20));
            Assert.True(again.Outcome == StopOutcome.Stopped, string.Join("\n", again.Steps));
            Assert.Equal(137, again.ExitCode);
            Assert.False(Containers.Alive(pid));
        }
        finally
        {
            File.WriteAllText(_fx.RefuseKillFile, string.Empty);
            await _fx.RemoveAsync(id);
        }
    }

    [Theory]
    [InlineData(PSContainerd.Containerd.ContainerdErrorKind.PermissionDenied, "permission denied", true)]
    [InlineData(PSContainerd.Containerd.ContainerdErrorKind.Unknown, "unknown error after kill: runc did not terminate successfully: exit status 1: permission denied", true)]
    [InlineData(PSContainerd.Containerd.ContainerdErrorKind.Unknown, "unknown error after kill: runc did not terminate successfully: exit status 1: operation not permitted", true)]
    [InlineData(PSContainerd.Containerd.ContainerdErrorKind.Unknown, "context deadline exceeded", false)]
    [InlineData(PSContainerd.Containerd.ContainerdErrorKind.DeadlineExceeded, "did not answer in time", false)]
    public void Which_kill_errors_count_as_refused(PSContainerd.Containerd.ContainerdErrorKind kind, string message, bool refused) =>
        Assert.Equal(refused, SignalRouter.IsRefused(new PSContainerd.Containerd.ContainerdException(kind, "/x.sock", message)));
}
