using PSContainerd.Engine;

namespace PSContainerd.Tests;

/// <summary>
/// A busybox container for one test, removed (killed first) when disposed:
/// <c>await using var c = await TestContainer.StartAsync(...)</c> instead of a try/finally block.
/// </summary>
internal sealed class TestContainer : IAsyncDisposable
{
    private readonly Func<string, Task> _remove;

    private TestContainer(string id, Func<string, Task> remove)
    {
        Id = id;
        _remove = remove;
    }

    public string Id { get; }

    /// <summary>On the fixture's namespace and shared engine.</summary>
    public static async Task<TestContainer> StartAsync(ContainerdFixture fx, string prefix, string[] command, RestartPolicy? policy = null, bool start = true) =>
        new(await fx.NewContainerAsync(prefix, command, start, policy: policy), fx.RemoveAsync);

    /// <summary>Through <paramref name="engine"/> (a Scratch namespace's), from <paramref name="rootfs"/>.</summary>
    public static async Task<TestContainer> StartAsync(ContainerEngine engine, string rootfs, string prefix, string[] command, RestartPolicy? policy = null, bool start = true) =>
        new(await Containers.NewAsync(engine, rootfs, prefix, command, start, policy), async id =>
        {
            try
            {
                await engine.RemoveAsync(id, force: true);
            }
            catch (Exception e) when (e is ContainerLookupException or Containerd.ContainerdException or ObjectDisposedException)
            {
                // Gone already, or the engine was disposed by the test: the Scratch namespace cleans up.
            }
        });

    public ValueTask DisposeAsync() => new(_remove(Id));
}
