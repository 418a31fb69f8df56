using System.Globalization;
using PSContainerd.Engine;
using Xunit;

namespace PSContainerd.Tests;

/// <summary>containerd alive but not answering (SIGSTOPped): what a stop can do without it.</summary>
[Collection(DaemonRestartCollection.Name)]
public sealed class HungContainerdTests
{
    private const int SIGCONT = 18;
    private const int SIGSTOP = 19;

    private readonly PrivateContainerdFixture _fx;

    public HungContainerdTests(PrivateContainerdFixture fx) => _fx = fx;

    private ContainerEngine Engine => _fx.Engine;

    [Fact]
    public async Task A_stop_while_containerd_is_frozen_signals_through_the_pidfd_and_leaves_no_intent_once_containerd_answers()
    {
        string id = await _fx.NewContainerAsync("hungcd", Containers.Cooperative);
        try
        {
            uint pid = (await _fx.Client.GetTaskAsync(id))!.Pid;
            int daemon = int.Parse(File.ReadAllText(Path.Combine(_fx.Dir, "containerd.pid")).Trim(), CultureInfo.InvariantCulture);
            Task<StopResult> stop;
            Assert.Equal(0, Kill(daemon, SIGSTOP));
            try
            {
                stop = Engine.StopAsync(id, null, 10, null);
                // The container's shell exits 0 on SIGTERM: gone means the stop signal reached it, with no containerd.
                await Containers.Until(() => Task.FromResult(!Containers.Alive((int)pid)), TimeSpan.FromSeconds(8),
                    "the init process got the stop signal through its pidfd while containerd was frozen");
            }
            finally
            {
                Kill(daemon, SIGCONT);
            }

            var r = await stop.WaitAsync(TimeSpan.FromSeconds(60));
            string steps = string.Join("\n", r.Steps);
            Assert.True(r.Outcome == StopOutcome.Stopped, steps);
            Assert.Equal(0, r.ExitCode);
            Assert.Contains(r.Steps, s => s.Kind == StopStepKind.Signal && s.Route == SignalRoute.Pidfd);

            // Once containerd answers, the record says stopped, and no intent is left for a restore to "resume".
            await Containers.Until(async () =>
            {
                var labels = (await _fx.Client.GetContainerAsync(id)).Labels;
                return !labels.ContainsKey(StateLabels.StopIntent) && labels.GetValueOrDefault(StateLabels.State) == StateLabels.StateStopped;
            }, TimeSpan.FromSeconds(30), "the exit recorded and no stop intent left");
        }
        finally
        {
            await _fx.RemoveAsync(id);
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int sig);
}
