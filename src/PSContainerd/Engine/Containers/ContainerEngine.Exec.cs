using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using PSContainerd.Containerd;

namespace PSContainerd.Engine;

/// <summary>What to run in a container beside its init process (docker exec).</summary>
public sealed record ExecRequest(
    IReadOnlyList<string> Command,
    IReadOnlyList<string>? Environment = null,
    string? WorkingDirectory = null,
    TimeSpan? Timeout = null);

/// <summary>docker exec: an extra process in a running container, its output captured, its exit awaited.</summary>
public sealed partial class ContainerEngine
{
    /// <summary>After SIGKILL of a process whose -Timeout ran out: how long its exit is awaited.</summary>
    private static readonly TimeSpan ExecKillBound = TimeSpan.FromSeconds(5);

    /// <summary>After the process is deleted: how long output still arriving is read (a background child may hold it open).</summary>
    private static readonly TimeSpan ExecDrainBound = TimeSpan.FromSeconds(2);

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

        string spec = ExecProcessSpec(record.SpecJson, request)
            ?? throw new ContainerdException(ContainerdErrorKind.FailedPrecondition, Address, $"Container '{id}' has no process in its runtime spec to base a command on.");
        string execId = NewExecId(id);
        using var pipes = ExecPipes.Open();
        await Client.AddProcessAsync(id, execId, spec, pipes.StdoutPath, pipes.StderrPath, ct).ConfigureAwait(false);
        var clock = Stopwatch.StartNew();
        bool started = false;
        try
        {
            // The wait is asked for before the start, so an exit that comes at once is not missed.
            using var waiting = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var exit = Client.WaitProcessAsync(id, execId, waiting.Token);
            await Client.StartProcessAsync(id, execId, ct).ConfigureAwait(false);
            started = true;
            clock.Restart();
            bool timedOut = false;
            var limit = request.Timeout is { } t && t >= TimeSpan.Zero ? t : Timeout.InfiniteTimeSpan;
            if (await Task.WhenAny(exit, Task.Delay(limit, ct)).ConfigureAwait(false) != exit)
            {
                ct.ThrowIfCancellationRequested();
                timedOut = true;
                await KillExecAsync(id, execId).ConfigureAwait(false);
                await Task.WhenAny(exit, Task.Delay(ExecKillBound, ct)).ConfigureAwait(false);
            }

            var duration = clock.Elapsed;
            int? code = exit.IsCompletedSuccessfully ? (int)exit.Result.ExitStatus : null;
            waiting.Cancel();
            await DeleteExecAsync(id, execId, CancellationToken.None).ConfigureAwait(false);
            var (output, error) = await pipes.FinishAsync(ExecDrainBound).ConfigureAwait(false);
            return new ExecResult
            {
                Id = id,
                Namespace = Namespace,
                Address = Address,
                ExecId = execId,
                Command = request.Command.ToArray(),
                ExitCode = code,
                Output = output,
                Error = error,
                Duration = duration,
                TimedOut = timedOut,
            };
        }
        catch (Exception) when (ct.IsCancellationRequested || !started)
        {
            // The caller gave up (Ctrl+C), or the process never started: take it out of the task,
            // bounded and without the caller's token, so no process is left behind.
            if (started)
            {
                await KillExecAsync(id, execId).ConfigureAwait(false);
            }

            await DeleteExecAsync(id, execId, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>The OCI process for an exec: the container's own, with the command and environment asked for; null when the spec has none.</summary>
    internal static string? ExecProcessSpec(string? specJson, ExecRequest request)
    {
        if ((specJson is null ? null : JsonNode.Parse(specJson)?["process"]?.DeepClone()) is not JsonObject process)
        {
            return null;
        }

        process["terminal"] = false;
        process.Remove("consoleSize");
        process["args"] = new JsonArray(request.Command.Select(a => (JsonNode?)JsonValue.Create(a)).ToArray());
        if (request.WorkingDirectory is { Length: > 0 } cwd)
        {
            process["cwd"] = cwd;
        }

        if (request.Environment is { Count: > 0 } extra)
        {
            // A variable given again replaces the container's, as docker exec -e does.
            var env = new List<string>((process["env"] as JsonArray)?.Select(n => n?.GetValue<string>() ?? string.Empty) ?? Enumerable.Empty<string>());
            foreach (var entry in extra)
            {
                string name = entry.Split('=', 2)[0];
                env.RemoveAll(e => e.Split('=', 2)[0] == name);
                env.Add(entry);
            }

            process["env"] = new JsonArray(env.Select(e => (JsonNode?)JsonValue.Create(e)).ToArray());
        }

        return process.ToJsonString();
    }

    /// <summary>A fresh exec id; containerd's exit events tell the init process by its id being the container's.</summary>
    internal static string NewExecId(string containerId)
    {
        while (true)
        {
            string execId = "exec-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(6)).ToLowerInvariant();
            if (execId != containerId)
            {
                return execId;
            }
        }
    }

    private async Task KillExecAsync(string id, string execId)
    {
        try
        {
            await Client.KillProcessAsync(id, execId, Signals.SIGKILL, CancellationToken.None).ConfigureAwait(false);
        }
        catch (ContainerdException e)
        {
            Diagnose(id, $"exec {execId}: SIGKILL: {e.Message}");
        }
    }

    private async Task DeleteExecAsync(string id, string execId, CancellationToken ct)
    {
        try
        {
            await Client.DeleteProcessAsync(id, execId, ct).ConfigureAwait(false);
        }
        catch (ContainerdException e) when (e.Kind == ContainerdErrorKind.NotFound)
        {
            // gone with its task already
        }
        catch (ContainerdException e)
        {
            Diagnose(id, $"exec {execId}: delete: {e.Message}");
        }
    }
}
