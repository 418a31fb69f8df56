using PSContainerd.Engine;
using Xunit;

namespace PSContainerd.Tests;

/// <summary>
/// An engine keeps its connection to containerd for as long as it lives. containerd's gRPC server
/// enforces grpc-go's keepalive policy: a client that pings more often than every 5 minutes, or
/// pings with no call in flight, gets a strike per ping, and at the third the server closes the
/// connection (GOAWAY "too_many_pings"): the event stream ends and every call in flight on the
/// connection fails Unavailable. With a ping every 10 s, an idle engine's connection was dropped
/// within 45 s, over and over. In the shared collection, run alone: beside the restart-policy
/// tests, the end of this engine (on a second path to the same socket) came with two of them
/// failing in two full runs, for a reason not yet found (see docs/failure-modes.md).
/// </summary>
[Collection(ContainerdCollection.Name)]
public sealed class KeepAliveTests
{
    private readonly ContainerdFixture _fx;

    public KeepAliveTests(ContainerdFixture fx) => _fx = fx;

    [Fact]
    public async Task An_idle_engine_keeps_its_connection_and_its_event_stream()
    {
        // A connection of its own: the module keeps one channel per socket path, so a path of its
        // own to the same socket. On a connection other tests used, their traffic would hide a drop.
        string dir = Directory.CreateTempSubdirectory("pscd-keepalive-").FullName;
        try
        {
            string path = Path.Combine(dir, "containerd.sock");
            File.CreateSymbolicLink(path, _fx.Address);
            await using var engine = ContainerEngine.CreateUnshared(path, "keepalive-" + Guid.NewGuid().ToString("N")[..8]);
            await engine.WhenMonitoringAsync();
            int generation = engine.MonitorGeneration;

            // What is tested is that nothing happens for longer than the drop took (45 s): a window
            // to watch, not a condition to wait for.
            await Task.Delay(TimeSpan.FromSeconds(55));

            Assert.True(generation == engine.MonitorGeneration,
                $"the event stream was subscribed again {engine.MonitorGeneration - generation} time(s) in 55 s of quiet: containerd closed the connection");
            Assert.NotNull(await engine.ListIdsAsync());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
