using PSContainerd.Engine;
using Xunit;

namespace PSContainerd.Tests;

/// <summary>
/// A container removed and created again under the same id is a new container: a restart the
/// old one had pending is not carried out on it.
/// </summary>
[Collection(ContainerdCollection.Name)]
public sealed class RecreatedContainerTests
{
    private static readonly string[] CrashesAtOnce = { "/bin/sh", "-c", "exit 1" };

    private readonly ContainerdFixture _fx;

    public RecreatedContainerTests(ContainerdFixture fx) => _fx = fx;

    [Fact]
    public async Task A_restart_pending_for_a_removed_container_does_not_start_the_new_container_of_the_same_id()
    {
        await using var scratch = new Scratch(_fx, "recreate");
        var (holder, other) = await scratch.OpenHolderAndOtherAsync();
        await holder.WhenMonitoringAsync();
        var events = holder.Events.Subscribe();
        string id;
        TimeSpan backoff;
        try
        {
            id = await scratch.NewContainerAsync(other, "recreate", CrashesAtOnce, policy: Containers.Policy("always"));
            // Crash-looped until the holder's backoff is long enough to remove and create in.
            var seen = await Containers.Collect(events, id, l => l.Any(e => e.Type == "Restarting" && Millis(e) >= 1600), TimeSpan.FromSeconds(30));
            backoff = TimeSpan.FromMilliseconds(Millis(seen.Last(e => e.Type == "Restarting")));
        }
        finally
        {
            holder.Events.Unsubscribe(events);
        }

        var before = await scratch.Client.GetContainerAsync(id);
        await other.RemoveAsync(id, force: true);
        await other.CreateAsync(new NewContainerRequest(id, _fx.RootFs, Containers.IgnoresTerm, Array.Empty<string>(), new Dictionary<string, string>(),
            null, null, Containers.Policy("always"), false, null));
        Assert.NotEqual(before.CreatedAt, (await scratch.Client.GetContainerAsync(id)).CreatedAt);

        // Past the old restart's due time, with room for a loaded host.
        await Containers.AssertNoTask(scratch.Client, id, backoff + TimeSpan.FromSeconds(2), "the new container was created without -Start");
        Assert.Null(await scratch.Client.GetTaskAsync(id));
    }

    private static double Millis(ContainerEvent e) =>
        double.Parse(e.Attributes["Backoff"].Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
}
