using PSContainerd.Containerd;
using PSContainerd.Engine;
using Xunit;

namespace PSContainerd.Tests;

/// <summary>Containers the module did not make: made by <c>ctr run IMAGE</c>, on a snapshot of containerd's image store.</summary>
[Collection(ContainerdCollection.Name)]
public class ForeignContainerTests
{
    private static readonly string[] Cooperative = { "sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done" };

    private readonly ContainerdFixture _fx;

    public ForeignContainerTests(ContainerdFixture fx) => _fx = fx;

    [Fact]
    public async Task ImageContainerMadeByCtrGoesThroughStopStartRestartWaitRestoreAndCtrCanStillStartIt()
    {
        await using var scratch = new Scratch(_fx, "img");
        await using var ctr = await Ctr.OpenAsync(_fx, scratch.Namespace);
        var engine = scratch.Open();
        string id = await ctr.RunAsync("img", Cooperative);
        await Containers.Until(async () => (await engine.GetInfoAsync(id)).Status == ContainerStatus.Running, TimeSpan.FromSeconds(10), "ctr's task runs");
        await Containers.UntilTrapsAsync(engine, id, Cooperative);

        var stop = await engine.StopAsync(id, null, 5, null);
        Assert.Equal(StopOutcome.Stopped, stop.Outcome);
        Assert.Equal(0, stop.ExitCode);

        // Start: the task runs on the container's snapshot (the image's sh is found).
        Assert.Equal(ContainerStatus.Running, (await engine.StartAsync(id)).Status);
        await Containers.UntilTrapsAsync(engine, id, Cooperative);

        // Restart (a stop, then a start, as Restart-Container).
        Assert.Equal(StopOutcome.Stopped, (await engine.StopAsync(id, null, 5, null)).Outcome);
        var restarted = await engine.StartAsync(id);
        Assert.Equal(ContainerStatus.Running, restarted.Status);

        // Wait sees an exit caused from outside.
        var wait = engine.WaitAsync(id, WaitCondition.NextExit, TimeSpan.FromSeconds(30));
        await ctr.Must("tasks", "kill", "-s", "SIGKILL", id);
        Assert.Equal(137, (await wait).ExitCode);

        var restore = await engine.RestoreOneAsync(id, stopRunning: false);
        Assert.NotEqual(RestoreAction.Restarted, restore.Action);

        // containerd's own client can still start it: the bundle was left clean.
        await ctr.Try("tasks", "delete", id);
        await ctr.Must("tasks", "start", "-d", id);
        Assert.Equal(Containerd.TaskStatus.Running, (await scratch.Client.GetTaskAsync(id))?.Status);
    }

    [Fact]
    public async Task FailedStartOfAnImageContainerLeavesItStartableByCtr()
    {
        await using var scratch = new Scratch(_fx, "imgfail");
        await using var ctr = await Ctr.OpenAsync(_fx, scratch.Namespace);
        var engine = scratch.Open();
        // The command is not in the image yet: the module's start fails at runc's exec.
        string id = await ctr.CreateAsync("late", new[] { "/bin/late" });
        await Assert.ThrowsAsync<ContainerdException>(() => engine.StartAsync(id));

        // Put the command into the container's own writable layer, then start it with ctr.
        var rec = await scratch.Client.GetContainerAsync(id);
        var mounts = await scratch.Client.SnapshotMountsAsync(rec.Snapshotter, rec.SnapshotKey);
        string upper = mounts.SelectMany(m => m.Options).Single(o => o.StartsWith("upperdir=", StringComparison.Ordinal))["upperdir=".Length..];
        Directory.CreateDirectory(Path.Combine(upper, "bin"));
        string late = Path.Combine(upper, "bin", "late");
        await File.WriteAllTextAsync(late, "#!/bin/sh\nexec sleep 1000\n");
        if (OperatingSystem.IsLinux())
        {
            File.SetUnixFileMode(late, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        }

        await ctr.Must("tasks", "start", "-d", id);
        Assert.Equal(Containerd.TaskStatus.Running, (await scratch.Client.GetTaskAsync(id))?.Status);
    }
}
