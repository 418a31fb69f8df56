using PSContainerd.Containerd;

namespace PSContainerd.Engine;

/// <summary>What to run in a container beside its init process (docker exec).</summary>
public sealed record ExecRequest(
    IReadOnlyList<string> Command,
    IReadOnlyList<string>? Environment = null,
    string? WorkingDirectory = null,
    TimeSpan? Timeout = null);

/// <summary>docker exec: an extra process in a running container (run by <see cref="ExecRunner"/>), its output captured, its exit awaited.</summary>
public sealed partial class ContainerEngine
{
    /// <summary>
    /// Runs <paramref name="request"/>'s command in the container's running task and waits for it
    /// to exit (or for its timeout, then SIGKILL). The process starts from the container's own
    /// process spec (user, environment, working directory, capabilities), with the command and
    /// the given environment in place. Its exec id is generated, never the container's id: that
    /// id names the init process in containerd's exit events. Nothing is recorded on the
    /// container: an exec's exit is not the container's. Cancelling ends the wait and kills the
    /// process, so nothing the caller gave up on keeps running.
    /// </summary>
    public async Task<ExecResult> ExecAsync(string id, ExecRequest request, CancellationToken ct = default)
    {
        if (request.Command.Count == 0)
        {
            throw new ArgumentException("The command to run is empty.", nameof(request));
        }

        var record = await GetRecordAsync(id, ct).ConfigureAwait(false);
        var task = await LiveTaskAsync(id, ct).ConfigureAwait(false);
        if (task.Status.IsPaused())
        {
            throw new ContainerdException(ContainerdErrorKind.FailedPrecondition, Address,
                $"Container '{id}' is paused: a command in it would not run until it is resumed (Resume-Container).");
        }

        string spec = ExecRunner.ExecProcessSpec(record.SpecJson, request)
            ?? throw new ContainerdException(ContainerdErrorKind.FailedPrecondition, Address, $"Container '{id}' has no process in its runtime spec to base a command on.");
        return await new ExecRunner(Client, Diagnose).RunAsync(id, spec, request, ct).ConfigureAwait(false);
    }

    private void PublishExecExit(TaskExitEvent exec) =>
        Events.Publish(Namespace, exec.ContainerId, EventTypes.ExecExit, exec.ExitedAt, ("ExecId", exec.ProcessId), ("ExitCode", exec.ExitStatus.ToString(System.Globalization.CultureInfo.InvariantCulture)));
}
