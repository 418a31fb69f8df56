using PSContainerd.Containerd;
using PSContainerd.Engine;
using Xunit;

namespace PSContainerd.Tests;

/// <summary>Containers without the module's labels (made by ctr): read, never changed, until a state verb or an explicit adoption takes them over.</summary>
[Collection(ContainerdCollection.Name)]
public class UnmanagedContainerTests
{
    private static readonly string[] ExitsThreeOnTerm = { "sh", "-c", "trap 'exit 3' TERM; while true; do sleep 0.1; done" };

    private readonly ContainerdFixture _fx;

    public UnmanagedContainerTests(ContainerdFixture fx) => _fx = fx;

    [Fact]
    public async Task WaitAndGetOnAContainerCtrMadeLeaveItsStoppedTaskAndLabelsAlone()
    {
        await using var ctr = await Ctr.OpenAsync(_fx, "ro");
        var engine = ctr.Engine;
        string id = await ctr.RunningAsync("ro", ExitsThreeOnTerm);
        Assert.False((await engine.GetInfoAsync(id)).Managed);

        var wait = engine.WaitAsync(id, WaitCondition.NotRunning, TimeSpan.FromSeconds(30));
        await ctr.Must("tasks", "kill", "-s", "SIGTERM", id);
        Assert.Equal(3, (await wait).ExitCode);
        var info = await engine.GetInfoAsync(id);
        Assert.Equal(ContainerStatus.Stopped, info.Status);
        Assert.Equal(3, info.ExitCode);

        // As docker wait and ctr task wait: the stopped task is still there for its owner, and no label was written.
        Assert.Equal(Containerd.TaskStatus.Stopped, (await ctr.Client.GetTaskAsync(id))?.Status);
        Assert.DoesNotContain((await ctr.Client.GetContainerAsync(id)).Labels.Keys, k => k.StartsWith(StateLabels.Prefix, StringComparison.Ordinal));
    }

    [Fact]
    public async Task RestoreReportsAContainerCtrMadeAndChangesNothingUnlessAdopt()
    {
        await using var ctr = await Ctr.OpenAsync(_fx, "rst");
        string id = await ctr.RunAsync("rst", new[] { "sh", "-c", "exit 3" });
        await Containers.Until(async () => (await ctr.Client.GetTaskAsync(id))?.Status == Containerd.TaskStatus.Stopped, TimeSpan.FromSeconds(10), "ctr's task exited");

        var engine = ctr.Engine;
        Assert.StartsWith("report only", await engine.DescribeRestoreAsync(id, stopRunning: false, adopt: false));
        Assert.Contains("delete its stopped task, record exit code 3", await engine.DescribeRestoreAsync(id, stopRunning: false, adopt: true));

        var reported = await engine.RestoreOneAsync(id, stopRunning: false);
        Assert.Equal(RestoreAction.Unchanged, reported.Action);
        Assert.Equal(3, reported.ExitCode);
        Assert.Contains("not managed", reported.Detail);
        Assert.Equal(Containerd.TaskStatus.Stopped, (await ctr.Client.GetTaskAsync(id))?.Status);
        Assert.DoesNotContain((await ctr.Client.GetContainerAsync(id)).Labels.Keys, k => k.StartsWith(StateLabels.Prefix, StringComparison.Ordinal));

        var adopted = await engine.RestoreOneAsync(id, stopRunning: false, adopt: true);
        Assert.Equal(RestoreAction.RecordedExit, adopted.Action);
        Assert.Equal(3, adopted.ExitCode);
        var labels = (await ctr.Client.GetContainerAsync(id)).Labels;
        Assert.True(labels.ContainsKey(StateLabels.Adopted));
        Assert.Equal("3", labels[StateLabels.ExitCode]);
        Assert.Null(await ctr.Client.GetTaskAsync(id));
        Assert.True((await engine.GetInfoAsync(id)).Managed);
    }

    [Fact]
    public async Task StopAdoptsAContainerCtrMadeAndSaysSoInItsSteps()
    {
        await using var ctr = await Ctr.OpenAsync(_fx, "adopt");
        var engine = ctr.Engine;
        string id = await ctr.RunningAsync("adopt", ExitsThreeOnTerm);

        var stop = await engine.StopAsync(id, null, 5, null);
        Assert.Equal(StopOutcome.Stopped, stop.Outcome);
        Assert.Equal(3, stop.ExitCode);
        Assert.Contains(stop.Steps, s => s.Kind == StopStepKind.Adopted);
        var info = await engine.GetInfoAsync(id);
        Assert.True(info.Managed);
        Assert.NotNull(info.AdoptedAt);
        Assert.Equal("3", info.Labels[StateLabels.ExitCode]);

        // A second stop changes no state: nothing more to adopt.
        Assert.DoesNotContain((await engine.StopAsync(id, null, 5, null)).Steps, s => s.Kind == StopStepKind.Adopted);
    }
}
