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
    public async Task The_deadline_SIGKILL_goes_through_the_pidfd_and_its_own_pid_namespace_dies_with_it()
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
            var kill = Assert.Single(list, s => s.Kind == StopStepKind.Kill);
            Assert.True(timeout >= 0 && list.IndexOf(kill) > timeout, steps);
            Assert.Equal(SignalRoute.Pidfd, kill.Route);
            Assert.Contains("SIGKILL to the init process", kill.Detail, StringComparison.Ordinal);
            Assert.Contains("PID 1 of its own pid namespace", kill.Detail, StringComparison.Ordinal);

            // PID 1 of its own pid namespace: its death is the whole container's, so containerd's
            // Kill is never asked (it would have been refused here).
            Assert.DoesNotContain(r.Steps, s => s.Route == SignalRoute.Containerd || s.Kind is StopStepKind.Refused or StopStepKind.DirectKill);
        }
        finally
        {
            File.WriteAllText(_fx.RefuseKillFile, string.Empty);
            await _fx.RemoveAsync(id);
        }
    }

    [Fact]
    public async Task In_a_shared_pid_namespace_containerds_Kill_all_follows_the_pidfd_SIGKILL_for_the_rest_of_the_cgroup()
    {
        // The host's pid namespace: the init is not PID 1 there, so its death kills nothing else.
        // It ignores SIGTERM (inherited by its child), so only SIGKILL ends either.
        string[] command = { "/bin/sh", "-c", "trap '' TERM; sleep 1000 & wait" };
        string id = await SpecContainer.StartAsync(_fx, "route-shared", command, spec =>
        {
            var namespaces = spec["linux"]!["namespaces"]!.AsArray();
            namespaces.Remove(namespaces.First(n => (string?)n!["type"] == "pid"));
        });
        try
        {
            int pid = (int)(await _fx.Client.GetTaskAsync(id))!.Pid;
            await Containers.Until(() => Task.FromResult(IgnoresTerm(pid) && Children(pid).Any(IgnoresTerm)), TimeSpan.FromSeconds(10), "the shell and its child ignoring SIGTERM");
            int child = Children(pid).First();

            var r = await Engine.StopAsync(id, null, 1, null).WaitAsync(TimeSpan.FromSeconds(20));
            string steps = Show(r);

            Assert.True(r.Outcome == StopOutcome.Stopped, steps);
            Assert.Equal(StopEscalation.Kill, r.Escalation);
            Assert.Equal(137, r.ExitCode);
            var kills = r.Steps.Where(s => s.Kind is StopStepKind.Kill or StopStepKind.Refused).ToList();
            Assert.Equal(2, kills.Count);
            Assert.Equal(SignalRoute.Pidfd, kills[0].Route);
            Assert.Equal(SignalRoute.Containerd, kills[1].Route);
            Assert.Contains("every process", kills[1].Detail, StringComparison.Ordinal);
            Assert.False(Containers.Alive(pid));
            await Containers.Until(() => Task.FromResult(!Containers.Alive(child)), TimeSpan.FromSeconds(5), $"the init's child {child} killed with the rest of the cgroup");
        }
        finally
        {
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

    /// <summary>Whether SIGTERM is in the SigIgn mask of /proc/PID/status.</summary>
    private static bool IgnoresTerm(int pid)
    {
        try
        {
            string? line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
            return line is not null && (Convert.ToUInt64(line[7..].Trim(), 16) & (1UL << (Signals.SIGTERM - 1))) != 0;
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static IEnumerable<int> Children(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/task/{pid}/children").Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToList();
        }
        catch (IOException)
        {
            return Array.Empty<int>();
        }
    }

    private string Show(StopResult r)
    {
        string steps = string.Join("\n", r.Steps.Select(s => $"{s} [{s.Route}]"));
        _out.WriteLine($"{r.Outcome} {r.Escalation} exit {r.ExitCode} in {r.Duration}\n{steps}\nError: {r.Error}");
        return steps;
    }
}

/// <summary>A real container started from the default spec with one change made to it.</summary>
internal static class SpecContainer
{
    public static async Task<string> StartAsync(ContainerdFixture fx, string prefix, string[] command, Action<JsonNode> edit)
    {
        string id = $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 9)];
        var request = new NewContainerRequest(id, fx.RootFs, command, Array.Empty<string>(), new Dictionary<string, string>(),
            null, null, RestartPolicy.No, false, null);
        var spec = JsonNode.Parse(OciSpecBuilder.Build(request, fx.Namespace))!;
        edit(spec);
        await fx.Client.CreateContainerAsync(new PSContainerd.Containerd.ContainerCreateSpec(id, spec.ToJsonString(),
            new Dictionary<string, string> { [StateLabels.RestartPolicy] = RestartPolicy.No.ToString() }));
        await fx.Engine.StartAsync(id);
        return id;
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
        string id = await SpecContainer.StartAsync(fx, prefix, command, spec => spec["linux"]!["cgroupsPath"] = "/pscd-elsewhere/" + (string)spec["hostname"]!);
        await Containers.UntilTrapsAsync(fx.Engine, id, command);
        int pid = (int)((await fx.Engine.GetInfoAsync(id)).Pid ?? 0);
        Assert.False(InitProcessHandle.BelongsTo(pid, fx.Namespace, id), $"pid {pid} of {id} was verified after all");
        return id;
    }
}
