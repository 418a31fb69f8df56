using System.Net.Sockets;
using PSContainerd.Containerd;
using Xunit;

namespace PSContainerd.Tests;

/// <summary>Error mapping against real sockets: every way of not reaching containerd names the path and the reason.</summary>
[Collection(ContainerdCollection.Name)]
public sealed class ClientErrorTests
{
    private readonly ContainerdFixture _fx;

    public ClientErrorTests(ContainerdFixture fx) => _fx = fx;

    [Fact]
    public async Task Probe_answers_with_the_daemon_version()
    {
        var v = await new ContainerdClient(_fx.Address, "default").VersionAsync();
        Assert.False(string.IsNullOrEmpty(v.Version));
    }

    [Fact]
    public async Task Missing_socket_is_unavailable_and_says_it_does_not_exist()
    {
        string path = Path.Combine(Path.GetTempPath(), "pscd-missing-" + Guid.NewGuid().ToString("N"), "containerd.sock");
        var e = await Assert.ThrowsAsync<ContainerdException>(() => new ContainerdClient(path, "default").VersionAsync());
        Assert.Equal(ContainerdErrorKind.Unavailable, e.Kind);
        Assert.Contains(path, e.Message);
        Assert.Contains("does not exist", e.Message);
    }

    [Fact]
    public async Task Regular_file_is_unavailable_and_says_it_is_not_a_socket()
    {
        string path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "not a socket");
            var e = await Assert.ThrowsAsync<ContainerdException>(() => new ContainerdClient(path, "default").VersionAsync());
            Assert.Equal(ContainerdErrorKind.Unavailable, e.Kind);
            Assert.Contains("regular file, not a socket", e.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Socket_with_nothing_listening_is_unavailable()
    {
        string path = Path.Combine(Path.GetTempPath(), "pscd-dead-" + Guid.NewGuid().ToString("N") + ".sock");
        // Bound, never listening: connect is refused as on a socket a crashed daemon left behind.
        // Kept open for the test, since .NET unlinks the path when the socket is disposed.
        using var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        s.Bind(new UnixDomainSocketEndPoint(path));
        try
        {
            var e = await Assert.ThrowsAsync<ContainerdException>(() => new ContainerdClient(path, "default").VersionAsync());
            Assert.Equal(ContainerdErrorKind.Unavailable, e.Kind);
            Assert.True(e.Message.Contains("nothing is listening"), e.Message);
            Assert.Contains(path, e.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Engine_on_a_missing_socket_reports_it_instead_of_waiting_for_events()
    {
        string path = Path.Combine(Path.GetTempPath(), "pscd-missing-" + Guid.NewGuid().ToString("N") + ".sock");
        var engine = PSContainerd.Engine.ContainerEngine.CreateUnshared(path, "default");
        var started = System.Diagnostics.Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<ContainerdException>(() => engine.WhenMonitoringAsync());
        Assert.Equal(ContainerdErrorKind.Unavailable, e.Kind);
        Assert.Contains(path, e.Message);
        // The monitor's own patience is 10 s; an unreachable socket must not be waited out.
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(5), $"took {started.Elapsed}");
        await engine.DisposeAsync();
    }

    [Fact]
    public async Task Unknown_container_is_not_found()
    {
        var e = await Assert.ThrowsAsync<ContainerdException>(() => _fx.Client.GetContainerAsync("no-such-" + Guid.NewGuid().ToString("N")));
        Assert.Equal(ContainerdErrorKind.NotFound, e.Kind);
    }

    [Fact]
    public async Task Kill_of_a_finished_process_is_not_found()
    {
        // A namespace no engine watches, so the finished task stays undeleted.
        var raw = new ContainerdClient(_fx.Address, "xunit-raw-" + Environment.ProcessId);
        string id = "kf-" + Guid.NewGuid().ToString("N")[..8];
        var request = new PSContainerd.Engine.NewContainerRequest(id, _fx.RootFs, new[] { "/bin/true" }, Array.Empty<string>(),
            new Dictionary<string, string>(), null, null, PSContainerd.Engine.RestartPolicy.No, false, null);
        await raw.CreateContainerAsync(new ContainerCreateSpec(id, PSContainerd.Engine.OciSpecBuilder.Build(request, raw.Namespace), new Dictionary<string, string>()));
        try
        {
            await raw.CreateTaskAsync(id);
            await raw.StartTaskAsync(id);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            var exit = await raw.WaitAsync(id, cts.Token);
            Assert.Equal(0u, exit.ExitStatus);
            var e = await Assert.ThrowsAsync<ContainerdException>(() => raw.KillAsync(id, 15));
            Assert.Equal(ContainerdErrorKind.NotFound, e.Kind);
        }
        finally
        {
            try
            {
                await raw.DeleteTaskAsync(id);
            }
            catch (ContainerdException)
            {
            }

            await raw.DeleteContainerAsync(id);
        }
    }
}
