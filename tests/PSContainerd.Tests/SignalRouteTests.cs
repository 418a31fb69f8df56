using System.Text.Json.Nodes;
using PSContainerd.Engine;
using Xunit;
using Xunit.Abstractions;

namespace PSContainerd.Tests;

/// <summary>
/// Which way a stop's signals go: through the pidfd of the verified init process, or through
/// containerd's Kill when no pidfd can be verified. The failure fixture's runc refuses
/// <c>runc kill</c> for listed containers, so a stop that still ends gracefully proves its signal
/// did not go through containerd's Kill.
/// </summary>
[Collection(FailureCollection.Name)]
public sealed class SignalRouteTests
{
    private readonly FailureContainerdFixture _fx;
    private readonly ITestOutputHelper _out;

    public SignalRouteTests(FailureContainerdFixture fx, ITestOutputHelper output)
    {
        _fx = fx;
        _out = output;
    }

    private ContainerEngine Engine => _fx.Engine;

    [Fact]
    public async Task The_stop_signal_goes_through_the_pidfd_so_runc_kill_is_never_asked()
    {
        string id = await _fx.NewContainerAsync("route-pidfd", Containers.Cooperative);
        try
        {
            File.AppendAllText(_fx.RefuseKillFile, id + "\n");
            var r = await Engine.StopAsync(id, null, 30, null).WaitAsync(TimeSpan.FromSeconds(20));
            string steps = Show(r);

            Assert.True(r.Outcome == StopOutcome.Stopped, steps);
            Assert.Equal(StopEscalation.None, r.Escalation);
            Assert.Equal(0, r.ExitCode); // the trap ran: SIGTERM reached the shell
            var signal = Assert.Single(r.Steps, s => s.Kind == StopStepKind.Signal);
            Assert.Equal(SignalRoute.Pidfd, signal.Route);
            Assert.Contains("through its pidfd", signal.Detail, StringComparison.Ordinal);
            Assert.DoesNotContain(r.Steps, s => s.Kind == StopStepKind.Refused || s.Route == SignalRoute.Containerd);
        }
        finally
        {
            File.WriteAllText(_fx.RefuseKillFile, string.Empty);
            await _fx.RemoveAsync(id);
        }
    }

    [Fact]
    public async Task The_deadline_SIGKILL_goes_through_the_pidfd_and_containerds_Kill_all_follows_for_the_rest()
    {
        string id = await _fx.NewContainerAsync("route-kill", Containers.IgnoresTerm);
        try
        {
            int pid = (int)(await _fx.Client.GetTaskAsync(id))!.Pid;
            File.AppendAllText(_fx.RefuseKillFile, id + "\n");
            var r = await Engine.StopAsync(id, null, 1, null).WaitAsync(TimeSpan.FromSeconds(20));
            string steps = Show(r);

            // Ended by the pidfd SIGKILL, although runc refuses every kill of this container.
            Assert.True(r.Outcome == StopOutcome.Stopped, steps);
            Assert.Equal(StopEscalation.Kill, r.Escalation);
            Assert.Equal(137, r.ExitCode);
            Assert.False(Containers.Alive(pid));
            var list = r.Steps.ToList();
            int timeout = list.FindIndex(s => s.Kind == StopStepKind.Timeout);
            int kill = list.FindIndex(s => s.Kind == StopStepKind.Kill);
            Assert.True(timeout >= 0 && kill > timeout, steps);
            Assert.Equal(SignalRoute.Pidfd, list[kill].Route);
            Assert.Contains("SIGKILL to the init process", list[kill].Detail, StringComparison.Ordinal);

            // containerd's Kill(all) followed for the rest of the cgroup, and its answer is in the
            // timeline: refused by this runc, or "already exited" when the shim had reaped the init first.
            var rest = Assert.Single(list.Skip(kill + 1), s => s.Route == SignalRoute.Containerd);
            Assert.Contains("every process", rest.Detail, StringComparison.Ordinal);
            Assert.True(rest.Kind == StopStepKind.Refused || rest.Detail.Contains("already exited", StringComparison.Ordinal), steps);
            Assert.DoesNotContain(r.Steps, s => s.Kind == StopStepKind.DirectKill);
        }
        finally
        {
            File.WriteAllText(_fx.RefuseKillFile, string.Empty);
            await _fx.RemoveAsync(id);
        }
    }

    [Fact]
    public async Task A_container_whose_init_cannot_be_verified_is_signalled_through_containerds_Kill()
    {
        string id = await UnverifiedContainer.StartAsync(_fx, "route-rpc", Containers.Cooperative);
        try
        {
            var r = await Engine.StopAsync(id, null, 30, null).WaitAsync(TimeSpan.FromSeconds(20));
            string steps = Show(r);

            Assert.True(r.Outcome == StopOutcome.Stopped, steps);
            Assert.Equal(StopEscalation.None, r.Escalation);
            Assert.Equal(0, r.ExitCode);
            var signal = Assert.Single(r.Steps, s => s.Kind == StopStepKind.Signal);
            Assert.Equal(SignalRoute.Containerd, signal.Route);
            Assert.Contains("through containerd's Kill (no verified pidfd", signal.Detail, StringComparison.Ordinal);
            Assert.Contains("cgroup", signal.Detail, StringComparison.Ordinal);
        }
        finally
        {
            await _fx.RemoveAsync(id);
        }
    }

    [Fact]
    public async Task Without_a_verified_pidfd_the_deadline_SIGKILL_goes_to_every_process_through_containerd()
    {
        string id = await UnverifiedContainer.StartAsync(_fx, "route-rpckill", Containers.IgnoresTerm);
        try
        {
            int pid = (int)(await _fx.Client.GetTaskAsync(id))!.Pid;
            var r = await Engine.StopAsync(id, null, 1, null).WaitAsync(TimeSpan.FromSeconds(20));
            string steps = Show(r);

            Assert.True(r.Outcome == StopOutcome.Stopped, steps);
            Assert.Equal(StopEscalation.Kill, r.Escalation);
            Assert.Equal(137, r.ExitCode);
            Assert.False(Containers.Alive(pid));
            var kill = Assert.Single(r.Steps, s => s.Kind == StopStepKind.Kill);
            Assert.Equal(SignalRoute.Containerd, kill.Route);
            Assert.Contains("SIGKILL to every process through containerd's Kill", kill.Detail, StringComparison.Ordinal);
            Assert.DoesNotContain(r.Steps, s => s.Route == SignalRoute.Pidfd);
        }
        finally
        {
            await _fx.RemoveAsync(id);
        }
    }

    private string Show(StopResult r)
    {
        string steps = string.Join("\n", r.Steps.Select(s => $"{s} [{s.Route}]"));
        _out.WriteLine($"{r.Outcome} {r.Escalation} exit {r.ExitCode} in {r.Duration}\n{steps}\nError: {r.Error}");
        return steps;
    }
}

/// <summary>
/// A real container whose init process the engine cannot verify, so no pidfd is used on it: its
/// spec puts it in a cgroup outside <c>/NAMESPACE/ID</c> (as a container made by another tool with
/// a cgroup path of its own may be), and a short name is not unique enough to be matched
/// anywhere else in the path.
/// </summary>
internal static class UnverifiedContainer
{
    public static async Task<string> StartAsync(ContainerdFixture fx, string prefix, string[] command)
    {
        string id = $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 9)];
        var request = new NewContainerRequest(id, fx.RootFs, command, Array.Empty<string>(), new Dictionary<string, string>(),
            null, null, RestartPolicy.No, false, null);
        var spec = JsonNode.Parse(OciSpecBuilder.Build(request, fx.Namespace))!;
        spec["linux"]!["cgroupsPath"] = $"/pscd-elsewhere/{id}";
        await fx.Client.CreateContainerAsync(new PSContainerd.Containerd.ContainerCreateSpec(id, spec.ToJsonString(),
            new Dictionary<string, string> { [StateLabels.RestartPolicy] = RestartPolicy.No.ToString() }));
        await fx.Engine.StartAsync(id);
        await Containers.UntilTrapsAsync(fx.Engine, id, command);
        int pid = (int)((await fx.Engine.GetInfoAsync(id)).Pid ?? 0);
        Assert.False(InitProcessHandle.BelongsTo(pid, fx.Namespace, id), $"pid {pid} of {id} was verified after all");
        return id;
    }
}
