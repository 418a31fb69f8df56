using PSContainerd.Engine;
using Xunit;

namespace PSContainerd.Tests;

/// <summary>
/// A stop returns once containerd confirms the task's delete (its /tasks/delete event or the
/// Delete reply, whichever first), the exit recorded before, and the rest of the delete still
/// ahead of anything else done to the container: what a caller does next must not see the difference.
/// </summary>
[Collection(ContainerdCollection.Name)]
public sealed class StopReturnTests
{
    private readonly ContainerdFixture _fx;

    public StopReturnTests(ContainerdFixture fx) => _fx = fx;

    private ContainerEngine Engine => _fx.Engine;

    [Fact]
    public async Task The_exit_is_in_the_labels_when_stop_returns_and_the_result_says_what_confirmed_the_delete()
    {
        string id = await _fx.NewContainerAsync("sret", Containers.Cooperative);
        try
        {
            var r = await Engine.StopAsync(id, null, 10, null);
            var labels = (await _fx.Client.GetContainerAsync(id)).Labels;

            Assert.Equal(StopOutcome.Stopped, r.Outcome);
            Assert.Equal(0, r.ExitCode);
            Assert.Equal("0", labels.GetValueOrDefault(StateLabels.ExitCode));
            Assert.Equal(StateLabels.StateStopped, labels.GetValueOrDefault(StateLabels.State));
            Assert.Contains(r.DeleteConfirmedBy, new[] { DeleteConfirmation.Event, DeleteConfirmation.Reply });
        }
        finally
        {
            await _fx.RemoveAsync(id);
        }
    }

    [Fact]
    public async Task A_stop_that_sent_nothing_waited_for_no_delete()
    {
        string id = await _fx.NewContainerAsync("sret0", Containers.Cooperative);
        try
        {
            await Engine.StopAsync(id, null, 10, null);
            var again = await Engine.StopAsync(id, null, 10, null);
            Assert.Equal(StopOutcome.AlreadyStopped, again.Outcome);
            Assert.Equal(DeleteConfirmation.None, again.DeleteConfirmedBy);
        }
        finally
        {
            await _fx.RemoveAsync(id);
        }
    }

    [Fact]
    public async Task A_start_right_after_a_stop_never_finds_the_old_task_still_there()
    {
        string id = await _fx.NewContainerAsync("sretst", Containers.Cooperative);
        try
        {
            for (int i = 0; i < 5; i++)
            {
                var r = await Engine.StopAsync(id, null, 10, null);
                Assert.Equal(0, r.ExitCode);
                var started = await Engine.StartAsync(id); // no "already exists": the delete is ahead of it on the queue
                Assert.Equal(ContainerStatus.Running, started.Status);
                await Containers.UntilTrapsAsync(Engine, id, Containers.Cooperative);
            }
        }
        finally
        {
            await _fx.RemoveAsync(id);
        }
    }

    [Fact]
    public async Task A_start_by_another_engine_right_after_a_stop_finds_the_old_task_gone()
    {
        // Another process's engine has no queue in common with the stopping one: containerd
        // itself must have let go of the task. The two take turns: one stops, the other starts.
        await using var other = ContainerEngine.CreateUnshared(_fx.Address, _fx.Namespace);
        string id = await _fx.NewContainerAsync("sretot", Containers.Cooperative);
        try
        {
            var (stopper, starter) = (Engine, other);
            for (int i = 0; i < 6; i++)
            {
                var r = await stopper.StopAsync(id, null, 10, null);
                Assert.Equal(StopOutcome.Stopped, r.Outcome);
                var started = await starter.StartAsync(id);
                Assert.Equal(ContainerStatus.Running, started.Status);
                await Containers.UntilTrapsAsync(starter, id, Containers.Cooperative);
                (stopper, starter) = (starter, stopper);
            }
        }
        finally
        {
            await _fx.RemoveAsync(id);
        }
    }

    [Fact]
    public async Task The_log_file_holds_everything_the_container_wrote_when_stop_returns()
    {
        // The TERM handler writes 3000 lines and a last one, then exits: all of it must be in the file at return.
        string[] command = { "/bin/sh", "-c", "trap 'i=0; while [ $i -lt 3000 ]; do echo line $i; i=$((i+1)); done; echo last line; exit 0' TERM; sleep 1000 & wait" };
        string log = Path.Combine(Path.GetTempPath(), $"sret-{Guid.NewGuid():N}.log");
        string id = $"sretlog-{Guid.NewGuid():N}"[..16];
        await Engine.CreateAsync(new NewContainerRequest(id, _fx.RootFs, command, Array.Empty<string>(), new Dictionary<string, string>(), null, null, RestartPolicy.No, false, log));
        try
        {
            await Engine.StartAsync(id);
            await Containers.UntilTrapsAsync(Engine, id, command);
            var r = await Engine.StopAsync(id, null, 10, null);
            var lines = await File.ReadAllLinesAsync(log);

            Assert.Equal(0, r.ExitCode);
            Assert.Equal(3001, lines.Length);
            Assert.Equal("last line", lines[^1]);
        }
        finally
        {
            await _fx.RemoveAsync(id);
            File.Delete(log);
        }
    }
}
