using PSContainerd.Containerd;
using PSContainerd.Engine;
using Xunit;

namespace PSContainerd.Tests;

/// <summary>
/// Containers containerd's own restart monitor restarts (<c>containerd.io/restart.*</c> labels, as
/// `ctr run --label` and nerdctl write them); the fixture's containerd runs the monitor every second.
/// </summary>
[Collection(ContainerdCollection.Name)]
public class ContainerdRestartMonitorTests
{
    private static readonly string[] Cooperative = { "sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done" };
    private readonly ContainerdFixture _fx;

    public ContainerdRestartMonitorTests(ContainerdFixture fx) => _fx = fx;

    /// <summary>
    /// `ctr run -d` with containerd's restart policy, the status label added once its task runs,
    /// then until the engine sees it running. Given to `ctr run`, the status can be seen by the
    /// monitor before ctr has created the task: it creates one itself, and ctr's create fails.
    /// </summary>
    private static async Task<string> RunWatchedAsync(Ctr ctr, string prefix, string[] command)
    {
        string id = await ctr.RunAsync(prefix, command, "containerd.io/restart.policy=always");
        await ctr.Must("containers", "label", id, "containerd.io/restart.status=running");
        await Ctr.UntilRunningAsync(ctr.Engine, id, command);
        return id;
    }

    [Fact]
    public async Task StopOfAContainerContainerdsMonitorRestartsIsNotUndoneAndStartHandsItBack()
    {
        await using var ctr = await Ctr.OpenAsync(_fx, "mon");
        var engine = ctr.Engine;
        string id = await RunWatchedAsync(ctr, "mon", Cooperative);

        var info = await engine.GetInfoAsync(id);
        Assert.Equal("always", info.RestartPolicy);
        Assert.Equal("containerd", info.RestartPolicySource);

        var stop = await engine.StopAsync(id, null, 5, null);
        Assert.Equal(StopOutcome.Stopped, stop.Outcome);
        Assert.Equal(ContainerdRestartLabels.Stopped, (await ctr.Client.GetContainerAsync(id)).Labels.GetValueOrDefault(ContainerdRestartLabels.Status));
        // Four of the monitor's looks: it would have started the task again by now.
        await Containers.AssertNoTask(ctr.Client, id, TimeSpan.FromSeconds(4), "containerd's restart monitor undid the stop");

        Assert.Equal(ContainerStatus.Running, (await engine.StartAsync(id)).Status);
        var labels = (await ctr.Client.GetContainerAsync(id)).Labels;
        Assert.Equal(ContainerdRestartLabels.Running, labels.GetValueOrDefault(ContainerdRestartLabels.Status));
        Assert.False(labels.ContainsKey(ContainerdRestartLabels.Held));

        // Handed back: a crash is containerd's monitor's to restart.
        uint pid = (await ctr.Client.GetTaskAsync(id))!.Pid;
        await ctr.Must("tasks", "kill", "-s", "SIGKILL", id);
        await Containers.Until(async () => await ctr.Client.GetTaskAsync(id) is { Status: Containerd.TaskStatus.Running } t && t.Pid != pid,
            TimeSpan.FromSeconds(15), "containerd's restart monitor started the task again after the crash");
    }

    [Fact]
    public async Task ContainerdsMonitorDoesNotCutTheGracePeriodOfAStopShort()
    {
        await using var ctr = await Ctr.OpenAsync(_fx, "mongr");
        var engine = ctr.Engine;
        // sleep as PID 1 ignores SIGTERM: the stop waits its whole grace period, then SIGKILLs.
        string id = await RunWatchedAsync(ctr, "mongr", new[] { "sleep", "1000" });

        var stop = await engine.StopAsync(id, null, 3, null);
        Assert.Equal(StopOutcome.Stopped, stop.Outcome);
        Assert.Equal(StopEscalation.Kill, stop.Escalation);
        Assert.True(stop.Duration >= TimeSpan.FromSeconds(2.9), $"the stop ended after {stop.Duration}, before its 3 s grace period");
        Assert.Equal(ContainerdRestartLabels.Stopped, (await ctr.Client.GetContainerAsync(id)).Labels.GetValueOrDefault(ContainerdRestartLabels.Status));
    }

    [Fact]
    public async Task DockerdsContainersShowTheStopSettingsContainerdsRecordHoldsNotTheDefaults()
    {
        var raw = new ContainerdClient(_fx.Address, "moby");
        var engine = ContainerEngine.For(_fx.Address, "moby");
        string withSignal = "moby-sig-" + Guid.NewGuid().ToString("N")[..8];
        string without = "moby-none-" + Guid.NewGuid().ToString("N")[..8];
        var request = new NewContainerRequest(withSignal, _fx.RootFs, new[] { "/bin/true" }, Array.Empty<string>(), new Dictionary<string, string>(), null, null, RestartPolicy.No, false, null);
        var spec = System.Text.Json.Nodes.JsonNode.Parse(OciSpecBuilder.Build(request, "moby"))!;
        spec["annotations"] = new System.Text.Json.Nodes.JsonObject { ["org.opencontainers.image.stopSignal"] = "SIGQUIT" };
        await raw.CreateContainerAsync(new ContainerCreateSpec(withSignal, spec.ToJsonString(), new Dictionary<string, string>()));
        await raw.CreateContainerAsync(new ContainerCreateSpec(without, OciSpecBuilder.Build(request with { Id = without }, "moby"), new Dictionary<string, string>()));
        try
        {
            var a = await engine.GetInfoAsync(withSignal);
            Assert.Equal("SIGQUIT", a.StopSignal);
            Assert.Null(a.StopTimeout);
            var b = await engine.GetInfoAsync(without);
            Assert.Null(b.StopSignal);
            Assert.Null(b.StopTimeout);
        }
        finally
        {
            await raw.DeleteContainerAsync(withSignal);
            await raw.DeleteContainerAsync(without);
        }
    }
}
