using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using PSContainerd.Containerd.Api.Tasks;

namespace PSContainerd.Containerd;

/// <summary>Extra processes in a running task (docker exec): add, start, wait, signal, delete.</summary>
public sealed partial class ContainerdClient
{
    /// <summary>The type containerd expects of an exec's process spec (an OCI runtime-spec Process, as JSON).</summary>
    public const string ProcessSpecTypeUrl = "types.containerd.io/opencontainers/runtime-spec/1/Process";

    /// <summary>Adds process <paramref name="execId"/> to the container's task; it runs once started.</summary>
    public Task AddProcessAsync(string id, string execId, string processSpecJson, string? stdout, string? stderr, CancellationToken ct = default) =>
        Unary(async o => await TasksApi.ExecAsync(new ExecProcessRequest
        {
            ContainerId = id,
            ExecId = execId,
            Stdout = stdout ?? string.Empty,
            Stderr = stderr ?? string.Empty,
            Spec = new Any { TypeUrl = ProcessSpecTypeUrl, Value = ByteString.CopyFromUtf8(processSpecJson) },
        }, o), ct, TimeSpan.FromSeconds(30));

    /// <summary>Starts an added process; its pid.</summary>
    public Task<uint> StartProcessAsync(string id, string execId, CancellationToken ct = default) =>
        Unary(async o => (await TasksApi.StartAsync(new StartRequest { ContainerId = id, ExecId = execId }, o)).Pid, ct, TimeSpan.FromSeconds(30));

    /// <summary>Blocks until the process exits. No deadline; cancel to stop waiting.</summary>
    public Task<ExitInfo> WaitProcessAsync(string id, string execId, CancellationToken ct) =>
        Unary(async o =>
        {
            var r = await TasksApi.WaitAsync(new WaitRequest { ContainerId = id, ExecId = execId }, o);
            return new ExitInfo(r.ExitStatus, ToDate(r.ExitedAt));
        }, ct, Timeout.InfiniteTimeSpan);

    /// <summary>Signals one added process (never the init process). NotFound: it already finished.</summary>
    public Task KillProcessAsync(string id, string execId, int signal, CancellationToken ct = default) =>
        Unary(async o => await TasksApi.KillAsync(new KillRequest { ContainerId = id, ExecId = execId, Signal = (uint)signal }, o), ct);

    /// <summary>Removes an exited added process from the task; the answer carries its exit status.</summary>
    public Task<ExitInfo> DeleteProcessAsync(string id, string execId, CancellationToken ct = default) =>
        Unary(async o =>
        {
            var r = await TasksApi.DeleteProcessAsync(new DeleteProcessRequest { ContainerId = id, ExecId = execId }, o);
            return new ExitInfo(r.ExitStatus, ToDate(r.ExitedAt), r.Pid);
        }, ct);
}
