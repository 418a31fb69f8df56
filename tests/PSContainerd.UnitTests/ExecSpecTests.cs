using System.Text.Json.Nodes;
using PSContainerd.Engine;
using Xunit;

namespace PSContainerd.UnitTests;

/// <summary>The process an exec runs: the container's own, with the command and environment asked for.</summary>
public sealed class ExecSpecTests
{
    private const string Spec = """
        {"ociVersion":"1.0.2","process":{"terminal":true,"consoleSize":{"height":24,"width":80},
         "user":{"uid":1000,"gid":1000},"args":["sleep","300"],"env":["PATH=/bin","MODE=serve"],
         "cwd":"/srv","capabilities":{"bounding":["CAP_KILL"]}},"root":{"path":"rootfs"}}
        """;

    [Fact]
    public void The_exec_keeps_the_containers_user_capabilities_and_directory_and_runs_the_command_without_a_terminal()
    {
        var p = JsonNode.Parse(ExecRunner.ExecProcessSpec(Spec, new ExecRequest(new[] { "sh", "-c", "echo hi" }))!)!.AsObject();
        Assert.Equal(new[] { "sh", "-c", "echo hi" }, p["args"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.False(p["terminal"]!.GetValue<bool>());
        Assert.False(p.ContainsKey("consoleSize"));
        Assert.Equal(1000, p["user"]!["uid"]!.GetValue<int>());
        Assert.Equal("/srv", p["cwd"]!.GetValue<string>());
        Assert.Equal("CAP_KILL", p["capabilities"]!["bounding"]![0]!.GetValue<string>());
    }

    [Fact]
    public void A_variable_given_again_replaces_the_containers_and_others_are_kept()
    {
        var p = JsonNode.Parse(ExecRunner.ExecProcessSpec(Spec, new ExecRequest(new[] { "env" }, new[] { "MODE=drain", "EXTRA=a=b" }, "/tmp"))!)!;
        var env = p["env"]!.AsArray().Select(n => n!.GetValue<string>()).ToList();
        Assert.Equal(new[] { "PATH=/bin", "MODE=drain", "EXTRA=a=b" }, env);
        Assert.Equal("/tmp", p["cwd"]!.GetValue<string>());
    }

    [Fact]
    public void A_spec_without_a_process_gives_nothing_to_run() =>
        Assert.Null(ExecRunner.ExecProcessSpec("""{"root":{"path":"rootfs"}}""", new ExecRequest(new[] { "true" })));

    [Fact]
    public void An_exec_id_is_never_the_container_id()
    {
        for (int i = 0; i < 100; i++)
        {
            string id = ExecRunner.NewExecId("web");
            Assert.NotEqual("web", id);
            Assert.Matches("^exec-[0-9a-f]{12}$", id);
        }
    }
}
