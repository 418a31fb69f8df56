using PSContainerd.Engine;
using Xunit;

namespace PSContainerd.UnitTests;

/// <summary>The pid-reuse guard's cgroup check: whole path segments, on cgroup v1, v2 and systemd scopes.</summary>
public sealed class CgroupMatchTests
{
    // cgroup v1 (this module's cgroupsPath /NAMESPACE/ID under cgroupfs), as on a Debian host with v1 controllers.
    private const string V1Container = "12:pids:/default/web\n11:memory:/default/web\n10:cpu,cpuacct:/default/web\n1:name=systemd:/default/web\n";

    // cgroup v2, unified hierarchy.
    private const string V2Container = "0::/default/web\n";

    // systemd cgroup driver (containerd CRI, docker): a scope named after the id.
    private const string SystemdCri = "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1234.slice/cri-containerd-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope\n";
    private const string SystemdDocker = "0::/system.slice/docker-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope\n";
    private const string SystemdBare = "0::/system.slice/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope\n";

    // Host processes, v1 and v2.
    private const string V1Host = "12:pids:/user.slice/user-0.slice/session-3.scope\n11:memory:/user.slice/user-0.slice/session-3.scope\n10:cpu,cpuacct:/user.slice\n4:devices:/system.slice/cron.service\n1:name=systemd:/user.slice/user-0.slice/session-3.scope\n";
    private const string V2Host = "0::/user.slice/user-1000.slice/user@1000.service/app.slice/pwsh.scope\n";

    [Theory]
    [InlineData(V1Container, "web")]
    [InlineData(V2Container, "web")]
    [InlineData(SystemdCri, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")]
    [InlineData(SystemdDocker, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")]
    [InlineData(SystemdBare, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")]
    public void A_container_process_matches(string cgroup, string id) => Assert.True(CgroupMatch.Names(cgroup, "default", id));

    [Theory]
    [InlineData("cpu")]
    [InlineData("memory")]
    [InlineData("user")]
    [InlineData("system")]
    [InlineData("e")]
    [InlineData("slice")]
    [InlineData("session-3")]
    [InlineData("pwsh")]
    [InlineData("user-0.slice")]
    [InlineData("")]
    public void A_host_process_belongs_to_no_container_whatever_its_name(string id)
    {
        Assert.False(CgroupMatch.Names(V1Host, "default", id));
        Assert.False(CgroupMatch.Names(V2Host, "default", id));
    }

    [Theory]
    [InlineData("we")]
    [InlineData("eb")]
    [InlineData("default")]
    [InlineData("web2")]
    public void A_part_of_the_path_is_not_the_container(string id)
    {
        Assert.False(CgroupMatch.Names(V1Container, "default", id));
        Assert.False(CgroupMatch.Names(V2Container, "default", id));
    }

    [Fact]
    public void A_prefix_of_a_scope_id_is_not_the_container()
    {
        Assert.False(CgroupMatch.Names(SystemdDocker, "default", "0123456789abcdef0123456789abcdef"));
        Assert.False(CgroupMatch.Names(SystemdCri, "default", "containerd-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
    }

    [Fact]
    public void A_name_counts_only_under_its_namespace()
    {
        Assert.False(CgroupMatch.Names(V2Container, "other", "web"));
        Assert.False(CgroupMatch.Names("0::/system.slice/web.scope\n", "default", "web"));
        Assert.False(CgroupMatch.Names("0::/web\n", "default", "web"));
    }
}
