using System.Text;
using PSContainerd.Engine;
using Xunit;

namespace PSContainerd.UnitTests;

/// <summary>Reading an image config and turning it into the container's process (New-Container -Image), without containerd.</summary>
public sealed class ImageConfigTests
{
    private const string A = "sha256:ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb";
    private const string B = "sha256:3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d";
    private const string C = "sha256:2e7d2c03a9507ae265ecf5b5356885a53393a2029d241394997265a1a25aefc6";

    private static ImageConfig Config(string members, params string[] diffIds) =>
        ImageConfig.Parse(Encoding.UTF8.GetBytes(
            $"{{\"os\":\"linux\",\"architecture\":\"amd64\",\"config\":{{{members}}},\"rootfs\":{{\"type\":\"layers\",\"diff_ids\":[{string.Join(",", diffIds.Select(d => $"\"{d}\""))}]}}}}"));

    private static NewContainerRequest Request(string[]? command = null, string[]? env = null, int? stopSignal = null, string? workdir = null) =>
        new("c", string.Empty, command ?? Array.Empty<string>(), env ?? Array.Empty<string>(), new Dictionary<string, string> { ["mine"] = "1", ["shared"] = "caller" },
            stopSignal, null, RestartPolicy.No, false, null, workdir, Image: new ImageSource("img"));

    private static ResolvedImage Image(ImageConfig c) => new("img", "sha256:m", c, c.ChainId());

    // Expected values from sha256sum: sha256("A B"), then sha256("AB C") (containerd's identity.ChainID).
    [Theory]
    [InlineData(new[] { A }, A)]
    [InlineData(new[] { A, B }, "sha256:51c0c8ace48498d6f5fee6b0592cc06f2da0f3cbe09c5a34a97dce85c3889676")]
    [InlineData(new[] { A, B, C }, "sha256:2fce7f8ce91bcf0a1428b36e1024639fdbd9469eea762dba98aa749631885106")]
    public void The_chain_id_is_containerds_over_the_diff_ids(string[] diffIds, string expected) =>
        Assert.Equal(expected, Config(string.Empty, diffIds).ChainId());

    [Fact]
    public void The_config_gives_entrypoint_and_cmd_environment_working_directory_user_stop_signal_and_labels()
    {
        var c = Config("\"Entrypoint\":[\"/bin/app\"],\"Cmd\":[\"--serve\"],\"Env\":[\"PATH=/bin\",\"MODE=prod\"],\"WorkingDir\":\"/srv\",\"User\":\"1000:50\",\"StopSignal\":\"SIGQUIT\",\"Labels\":{\"shared\":\"image\",\"from\":\"image\"}", A);
        var r = ImageProcess.Apply(Request(), Image(c));
        Assert.Equal(new[] { "/bin/app", "--serve" }, r.Command);
        Assert.Equal(new[] { "PATH=/bin", "MODE=prod" }, r.Environment);
        Assert.Equal("/srv", r.WorkingDirectory);
        Assert.Equal(new ProcessUser(1000, 50), r.User);
        Assert.Equal(3, r.StopSignal); // SIGQUIT
        Assert.Equal("SIGQUIT", r.Labels[StateLabels.ImageStopSignal]);
        Assert.Equal("image", r.Labels["from"]);
        Assert.Equal("caller", r.Labels["shared"]);
        Assert.Equal("rootfs", r.RootFs);
    }

    [Fact]
    public void Command_replaces_cmd_but_keeps_the_entrypoint_and_the_callers_settings_win()
    {
        var c = Config("\"Entrypoint\":[\"/bin/sh\",\"-c\"],\"Cmd\":[\"exec server\"],\"Env\":[\"PATH=/bin\",\"MODE=prod\",\"TZ=UTC\"],\"WorkingDir\":\"/srv\",\"StopSignal\":\"SIGQUIT\"", A);
        var r = ImageProcess.Apply(Request(new[] { "echo hi" }, new[] { "MODE=test", "EXTRA=1", "EXTRA=2" }, stopSignal: 10, workdir: "/tmp"), Image(c));
        Assert.Equal(new[] { "/bin/sh", "-c", "echo hi" }, r.Command);
        Assert.Equal(new[] { "PATH=/bin", "MODE=test", "TZ=UTC", "EXTRA=2" }, r.Environment);
        Assert.Equal("/tmp", r.WorkingDirectory);
        Assert.Equal(10, r.StopSignal);
        Assert.Equal("SIGUSR1", r.Labels[StateLabels.ImageStopSignal]);
    }

    [Theory]
    [InlineData("", true, 0u, 0u)]
    [InlineData("root", true, 0u, 0u)]
    [InlineData("root:root", true, 0u, 0u)]
    [InlineData("65534", true, 65534u, 0u)]
    [InlineData("1000:1000", true, 1000u, 1000u)]
    [InlineData("nobody", false, 0u, 0u)]
    [InlineData("1000:staff", false, 1000u, 0u)]
    public void Only_numeric_users_and_root_are_read(string user, bool ok, uint uid, uint gid)
    {
        var c = Config($"\"User\":\"{user}\"", A);
        Assert.Equal(ok, c.TryGetUser(out uint u, out uint g));
        if (ok)
        {
            Assert.Equal((uid, gid), (u, g));
        }
    }

    [Fact]
    public void An_image_with_a_named_user_no_command_or_a_bad_stop_signal_is_refused_with_the_reason()
    {
        var named = Assert.Throws<ImageException>(() => ImageProcess.Apply(Request(), Image(Config("\"User\":\"nobody\",\"Cmd\":[\"x\"]", A))));
        Assert.Equal(ImageFailure.Unusable, named.Failure);
        Assert.Contains("'nobody'", named.Message, StringComparison.Ordinal);
        Assert.Contains("-Command", Assert.Throws<ImageException>(() => ImageProcess.Apply(Request(), Image(Config(string.Empty, A)))).Message, StringComparison.Ordinal);
        Assert.Contains("'SIGNOPE'", Assert.Throws<ImageException>(() => ImageProcess.Apply(Request(), Image(Config("\"Cmd\":[\"x\"],\"StopSignal\":\"SIGNOPE\"", A)))).Message, StringComparison.Ordinal);
    }
}
