using System.Text.Json.Nodes;
using PSContainerd.Commands;
using PSContainerd.Engine;
using Xunit;

namespace PSContainerd.UnitTests;

/// <summary>What -Address, -Mount and -Network turn into, and where a default log goes.</summary>
public sealed class RunbookArgumentTests
{
    [Theory]
    [InlineData("unix:///run/x.sock", "/work", "/run/x.sock")]
    [InlineData("UNIX:///run/x.sock", "/work", "/run/x.sock")]
    [InlineData("/run/x.sock", "/work", "/run/x.sock")]
    [InlineData("x.sock", "/work", "/work/x.sock")]
    [InlineData("unix://x.sock", "/work", "/work/x.sock")]
    public void An_address_becomes_the_sockets_full_path(string address, string location, string expected) =>
        Assert.Equal(expected, SocketAddress.ToPath(address, location));

    [Theory]
    [InlineData("/tmp:/data", "/data", "rw")]
    [InlineData("/tmp:/data:ro", "/data", "ro")]
    [InlineData("/tmp:/data:rw", "/data", "rw")]
    public void A_mount_argument_becomes_a_recursive_bind(string text, string destination, string mode)
    {
        var (mount, why) = MountArgument.Parse(text, p => p);
        Assert.Null(why);
        Assert.Equal(destination, mount!.Destination);
        Assert.Equal("/tmp", mount.Source);
        Assert.Equal(new[] { "rbind", mode }, mount.Options);
    }

    [Theory]
    [InlineData("/tmp")]
    [InlineData("/tmp:data")]
    [InlineData("/tmp:/data:rx")]
    [InlineData("/no/such/folder:/data")]
    [InlineData(":/data")]
    [InlineData("/tmp:/a:ro:x")]
    public void A_bad_mount_argument_says_why(string text)
    {
        var (mount, why) = MountArgument.Parse(text, p => p);
        Assert.Null(mount);
        Assert.False(string.IsNullOrEmpty(why));
    }

    [Theory]
    [InlineData(ContainerNetwork.None, true)]
    [InlineData(ContainerNetwork.Host, false)]
    public void Host_network_leaves_the_network_namespace_out_of_the_spec(ContainerNetwork network, bool ownNamespace)
    {
        var request = new NewContainerRequest("web", "/rootfs", new[] { "/bin/sh" }, Array.Empty<string>(), new Dictionary<string, string>(),
            null, null, RestartPolicy.No, false, null) { Network = network };
        var types = JsonNode.Parse(OciSpecBuilder.Build(request, "default"))!["linux"]!["namespaces"]!.AsArray().Select(n => (string?)n!["type"]).ToList();
        Assert.Equal(ownNamespace, types.Contains("network"));
        Assert.Contains("pid", types);
        Assert.Contains("mount", types);
    }

    [Fact]
    public void Default_logs_of_two_sockets_never_share_a_file()
    {
        Assert.Equal("/var/log/pscontainerd/default/web.log", DefaultLogs.PathFor("/run/containerd/containerd.sock", "default", "web"));
        Assert.Equal("/var/log/pscontainerd/default@tmp_env_containerd.sock/web.log", DefaultLogs.PathFor("/tmp/env/containerd.sock", "default", "web"));
    }
}
