using PSContainerd.Containerd;
using PSContainerd.Engine;
using Xunit;

namespace PSContainerd.Tests;

/// <summary>
/// A start in one session racing a remove in another (two engines, as two pwsh processes): the
/// remove either finds the task the start made and refuses, or deletes the record before the
/// start creates its task (which then fails). Never a task, and its shim, left with no record.
/// </summary>
[Collection(ContainerdCollection.Name)]
public sealed class StartRemoveRaceTests
{
    private readonly ContainerdFixture _fx;

    public StartRemoveRaceTests(ContainerdFixture fx) => _fx = fx;

    [Fact]
    public async Task A_start_racing_a_remove_in_another_session_never_leaves_a_task_without_its_record()
    {
        await using var scratch = new Scratch(_fx, "startrm");
        var starter = scratch.Open();
        var remover = scratch.Open();
        var orphans = new List<string>();
        const int trials = 16;
        try
        {
            for (int i = 0; i < trials; i++)
            {
                string id = await scratch.NewContainerAsync(remover, "race", Containers.IgnoresTerm, start: false);
                // Both engines have looked at it, as two sessions that listed it.
                await starter.GetInfoAsync(id);
                var start = Task.Run(() => starter.StartAsync(id));
                // Staggered across the start's create: the window is where its task exists but is not yet started.
                await Task.Delay(i * 7 % 40);
                var remove = Task.Run(() => remover.RemoveAsync(id, force: false));
                await Ignore(start);
                await Ignore(remove);

                // Listed, not got: containerd answers Tasks.Get for a container with no record NotFound.
                bool recorded = (await scratch.Client.ListContainersAsync()).Any(c => c.Id == id);
                var task = (await scratch.Client.ListTasksAsync()).FirstOrDefault(t => t.ContainerId == id);
                if (!recorded && task is not null)
                {
                    orphans.Add($"{id} (task {task.Status}, pid {task.Pid}, shim {Containers.ShimPid(scratch.Namespace, id)?.ToString() ?? "gone"})");
                }
            }
        }
        finally
        {
            await RemoveOrphanTasksAsync(scratch, remover);
        }

        Assert.True(orphans.Count == 0, $"{orphans.Count} of {trials} races left a task with no container record: {string.Join("; ", orphans)}");
    }

    [Fact]
    public async Task A_start_racing_an_auto_remove_in_another_session_never_leaves_a_task_without_its_record()
    {
        // -AutoRemove deletes the record when the container exits; a start in another session at
        // that moment looked at the task, created its own, and the delete left it with no record.
        await using var scratch = new Scratch(_fx, "autorm");
        var starter = scratch.Open();
        var owner = scratch.Open();
        var orphans = new List<string>();
        const int trials = 16;
        try
        {
            for (int i = 0; i < trials; i++)
            {
                string id = $"autorm-{i}-{Guid.NewGuid():N}"[..20];
                await owner.CreateAsync(new NewContainerRequest(id, _fx.RootFs, new[] { "/bin/sh", "-c", "exit 3" }, Array.Empty<string>(),
                    new Dictionary<string, string>(), null, null, RestartPolicy.No, AutoRemove: true, null));
                await starter.GetInfoAsync(id);
                var first = owner.StartAsync(id);
                // Staggered across the exit and its auto-remove.
                await Task.Delay(i * 5 % 40);
                await Ignore(Task.Run(() => starter.StartAsync(id)));
                await Ignore(first);
                await Containers.Until(async () => (await scratch.Client.ListContainersAsync()).All(c => c.Id != id) || (await scratch.Client.ListTasksAsync()).Any(t => t.ContainerId == id),
                    TimeSpan.FromSeconds(20), "the auto-remove or the second start has happened");
                bool recorded = (await scratch.Client.ListContainersAsync()).Any(c => c.Id == id);
                var task = (await scratch.Client.ListTasksAsync()).FirstOrDefault(t => t.ContainerId == id);
                if (!recorded && task is not null)
                {
                    orphans.Add($"{id} (task {task.Status}, pid {task.Pid})");
                }
            }
        }
        finally
        {
            await RemoveOrphanTasksAsync(scratch, owner);
        }

        Assert.True(orphans.Count == 0, $"{orphans.Count} of {trials} races left a task with no container record: {string.Join("; ", orphans)}");
    }

    private static async Task Ignore(Task t)
    {
        try
        {
            await t.WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (Exception e) when (e is ContainerdException or ContainerLookupException)
        {
            // Either side may lose the race; what is left behind is what this test checks.
        }
    }

    /// <summary>
    /// Tasks whose record is gone: containerd reaches a task only through its container, so a
    /// record of the same id is made again and removed with its task (Scratch's cleanup goes by
    /// records and would never see them).
    /// </summary>
    private async Task RemoveOrphanTasksAsync(Scratch scratch, ContainerEngine engine)
    {
        var records = (await scratch.Client.ListContainersAsync()).Select(c => c.Id).ToHashSet(StringComparer.Ordinal);
        foreach (var t in await scratch.Client.ListTasksAsync())
        {
            if (records.Contains(t.ContainerId))
            {
                continue;
            }

            await engine.CreateAsync(new NewContainerRequest(t.ContainerId, _fx.RootFs, Containers.IgnoresTerm, Array.Empty<string>(),
                new Dictionary<string, string>(), null, null, RestartPolicy.No, false, null));
            await engine.RemoveAsync(t.ContainerId, force: true);
        }
    }
}
