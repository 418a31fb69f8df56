using System.Globalization;
using PSContainerd.Containerd;

namespace PSContainerd.Engine;

/// <summary>Listing, creating, starting and removing: the plain lifecycle calls (signalling, pausing and resuming are in ContainerEngine.Control.cs).</summary>
public sealed partial class ContainerEngine
{
    public async Task<IReadOnlyList<ContainerInfo>> ListAsync(CancellationToken ct = default)
    {
        var containers = Client.ListContainersAsync(ct);
        var tasks = Client.ListTasksAsync(ct);
        var byId = (await tasks.ConfigureAwait(false)).ToDictionary(t => t.ContainerId, StringComparer.Ordinal);
        var infos = new List<ContainerInfo>();
        foreach (var c in (await containers.ConfigureAwait(false)).OrderBy(c => c.Id, StringComparer.Ordinal))
        {
            var task = byId.GetValueOrDefault(c.Id);
            var rec = task is null && await SettleExitAsync(c.Id, ct).ConfigureAwait(false)
                ? await TryGetRecordAsync(c.Id, ct).ConfigureAwait(false)
                : c;
            if (rec is not null)
            {
                infos.Add(BuildInfo(rec, task));
            }
        }

        return infos;
    }

    public async Task<ContainerInfo> GetInfoAsync(string id, CancellationToken ct = default)
    {
        var rec = await GetRecordAsync(id, ct).ConfigureAwait(false);
        var task = await Client.GetTaskAsync(id, ct).ConfigureAwait(false);
        if (task is null && await SettleExitAsync(id, ct).ConfigureAwait(false))
        {
            rec = await GetRecordAsync(id, ct).ConfigureAwait(false);
        }

        return BuildInfo(rec, task);
    }

    /// <summary>
    /// The exit recorder deletes the task before it writes the exit to the labels (the exit status
    /// comes from the delete), so for a moment a container has neither a task nor a recorded exit
    /// and would read as Stopped with no exit code. When this engine is finalising that exit, wait
    /// for the container's queue (bounded) so the caller sees the exit; true when it waited.
    /// </summary>
    private async Task<bool> SettleExitAsync(string id, CancellationToken ct)
    {
        if (!_states.TryGetValue(id, out var s) || !s.Loaded || !s.IsLive)
        {
            return false;
        }

        try
        {
            await s.Enqueue(() => Task.CompletedTask).WaitAsync(TimeSpan.FromSeconds(2), ct).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Finalising is stuck on containerd: answer with what is known now.
        }

        return true;
    }

    /// <summary>Whether a container with exactly this id exists: the engine's tracked state answers without a call, else one Containers.Get (never a List).</summary>
    public async Task<bool> ExistsAsync(string id, CancellationToken ct = default) =>
        (_states.TryGetValue(id, out var known) && known.Loaded && !known.IsRemoved)
        || await TryGetRecordAsync(id, ct).ConfigureAwait(false) is not null;

    private async Task<ContainerRecord?> TryGetRecordAsync(string id, CancellationToken ct)
    {
        try
        {
            return await Client.GetContainerAsync(id, ct).ConfigureAwait(false);
        }
        catch (ContainerdException e) when (e.Kind == ContainerdErrorKind.NotFound)
        {
            return null; // removed meanwhile
        }
    }

    public async Task<ContainerInfo> CreateAsync(NewContainerRequest r, CancellationToken ct = default)
    {
        if (r.Image is not null)
        {
            return await CreateFromImageAsync(r, ct).ConfigureAwait(false);
        }

        var rec = await Client.CreateContainerAsync(new ContainerCreateSpec(r.Id, OciSpecBuilder.Build(r, Namespace), RecordLabels(r)), ct).ConfigureAwait(false);
        return BuildInfo(rec, null);
    }

    /// <summary>The labels a new container's record starts with: the caller's, and the settings the module keeps.</summary>
    private static Dictionary<string, string> RecordLabels(NewContainerRequest r)
    {
        var labels = new Dictionary<string, string>(r.Labels, StringComparer.Ordinal)
        {
            [StateLabels.RestartPolicy] = r.RestartPolicy.ToString(),
        };
        if (r.StopSignal is int sig)
        {
            labels[StateLabels.StopSignal] = Signals.Name(sig);
        }

        if (r.StopTimeout is int t)
        {
            labels[StateLabels.StopTimeout] = t.ToString(CultureInfo.InvariantCulture);
        }

        if (r.AutoRemove)
        {
            labels[StateLabels.AutoRemove] = "true";
        }

        if (r.LogPath is not null)
        {
            labels[StateLabels.LogPath] = r.LogPath;
        }

        return labels;
    }

    /// <summary>Starts the container's task (docker start): a stopped task is cleaned up first; a running one is left alone.</summary>
    public async Task<ContainerInfo> StartAsync(string id, CancellationToken ct = default)
    {
        var s = await TrackAsync(id, ct).ConfigureAwait(false);
        await s.Enqueue(async () =>
        {
            Restarts.CancelPending(s);
            // One start at a time per container across processes (ContainerLock, as the restart
            // supervisor's): a second session's start finds the first one's task and leaves it be.
            using var held = await Restarts.ContainerLock.AcquireAsync(id, ContainerLock.DefaultTimeout, ct).ConfigureAwait(false);
            if (held is null)
            {
                Diagnose(id, $"start: another process held the container's lock for {ContainerLock.DefaultTimeout.TotalSeconds:0} s; starting without it");
            }

            if (s.Status is ContainerStatus.Running or ContainerStatus.Paused)
            {
                return;
            }

            if (s.Status == ContainerStatus.Created
                && await Client.GetTaskAsync(id, ct).ConfigureAwait(false) is { Status: Containerd.TaskStatus.Created })
            {
                try
                {
                    await Client.StartTaskAsync(id, ct).ConfigureAwait(false);
                }
                catch (ContainerdException e)
                {
                    throw e.For(CouldNotStart(id));
                }

                return;
            }

            s.Restarts.Reset();
            await StartTaskAsync(s, manual: true, restartCount: 0, ct).ConfigureAwait(false);
        }).WaitAsync(ct).ConfigureAwait(false);
        return await GetInfoAsync(id, ct).ConfigureAwait(false);
    }

    private static string CouldNotStart(string id) => $"Container '{id}' could not start";

    /// <summary>How long the record of a start (state, start time, restart count) is retried while containerd is slow or restarting.</summary>
    internal static readonly TimeSpan RecordStartRetry = TimeSpan.FromSeconds(30);

    /// <summary>Set by tests only: runs after a task started, before its start is recorded.</summary>
    internal Func<string, Task>? BeforeRecordStart { get; set; }

    /// <summary>Creates and starts a new task; on the container's queue. A manual start clears the manual-stop mark.</summary>
    internal async Task StartTaskAsync(ContainerState s, bool manual, int restartCount, CancellationToken ct = default)
    {
        if (await Client.GetTaskAsync(s.Id, ct).ConfigureAwait(false) is { } old)
        {
            if (old.Status != Containerd.TaskStatus.Stopped)
            {
                s.SetRunning(old.Pid, DateTime.UtcNow, paused: old.Status.IsPaused());
                return;
            }

            await Client.DeleteTaskAsync(s.Id, ct).ConfigureAwait(false);
        }

        var notBefore = DateTime.UtcNow;
        string? log = s.Labels.Get(StateLabels.LogPath);
        string? io = log is null ? null : new Uri(log).AbsoluteUri;
        string? monitorStatus = manual && Manages ? await HoldFromMonitorAsync(s, ct).ConfigureAwait(false) : null;
        uint pid;
        try
        {
            await Client.CreateTaskThroughLeftoversAsync(s.Id, io, m => Diagnose(s.Id, m), ct).ConfigureAwait(false);
            try
            {
                pid = await Client.StartTaskAsync(s.Id, ct).ConfigureAwait(false);
            }
            catch (ContainerdException)
            {
                await Client.TryDeleteTaskAsync(s.Id).ConfigureAwait(false);
                throw;
            }
        }
        catch (ContainerdException e)
        {
            if (monitorStatus is not null)
            {
                await GiveBackToMonitorAsync(s, monitorStatus).ConfigureAwait(false);
            }

            throw e.For(CouldNotStart(s.Id));
        }

        var now = DateTime.UtcNow;
        s.SetRunning(pid, now, notBefore: notBefore);
        if (Manages)
        {
            // The task runs whatever this write does: a failure is reported, never turned into a
            // failed start (which would read as a stopped container while its task runs).
            try
            {
                if (BeforeRecordStart is { } seam)
                {
                    await seam(s.Id).ConfigureAwait(false);
                }

                // Retried while containerd is slow or restarting: a policy restart's count lost
                // here lets on-failure:N restart once more than N (chaos seed 20261204).
                // A container the module did not make is adopted by this write: a start is a state change.
                bool adopting = !StateLabels.IsManaged(s.Labels);
                s.RefreshLabels((await TransientRetry.RunAsync(() => StateStore.RecordStartAsync(s.Id, manual, now, s.Labels, restartCount, CancellationToken.None), RecordStartRetry,
                    (e, pause) => Diagnose(s.Id, $"recording the start (pid {pid}) failed ({e.Kind}: {e.Message}); trying again in {pause.TotalMilliseconds:0} ms")).ConfigureAwait(false)).Labels);
                if (adopting)
                {
                    Diagnose(s.Id, $"adopted: the container was not managed by PSContainerd; from now on its state is recorded in its {StateLabels.Prefix}* labels");
                }
            }
            catch (ContainerdException e)
            {
                Diagnose(s.Id, $"the task started (pid {pid}) but its start could not be recorded: {e.Message}");
            }
        }
    }

    internal ContainerInfo BuildInfo(ContainerRecord rec, TaskInfo? task)
    {
        var labels = rec.Labels;
        var recorded = RecordedExit.FromLabels(labels);
        _states.TryGetValue(rec.Id, out var s);
        var status = task?.Status switch
        {
            Containerd.TaskStatus.Created => ContainerStatus.Created,
            Containerd.TaskStatus.Running => ContainerStatus.Running,
            Containerd.TaskStatus.Paused or Containerd.TaskStatus.Pausing => ContainerStatus.Paused,
            Containerd.TaskStatus.Stopped => ContainerStatus.Stopped,
            Containerd.TaskStatus.Unknown => ContainerStatus.Unknown,
            _ => s?.Status == ContainerStatus.Restarting || labels.Get(StateLabels.State) == StateLabels.StateRestarting ? ContainerStatus.Restarting
                : recorded is not null || labels.Get(StateLabels.State) is not null ? ContainerStatus.Stopped
                : ContainerStatus.Created,
        };
        bool taskExited = task?.Status == Containerd.TaskStatus.Stopped;
        if (status is ContainerStatus.Running or ContainerStatus.Paused)
        {
            recorded = null; // a live task is a new run: the previous run's exit is not its own (docker clears it on start)
        }

        var stop = StopSettings.Resolve(labels, null, null, new List<string>());
        return new ContainerInfo
        {
            Id = rec.Id,
            Namespace = Namespace,
            Status = status,
            Pid = task is null || taskExited || task.Pid == 0 ? null : task.Pid,
            ExitCode = taskExited ? (int)task!.ExitStatus : recorded?.ExitCode,
            ExitedAt = taskExited ? task!.ExitedAt : recorded?.ExitedAt,
            OOMKilled = recorded?.OomKilled ?? false,
            // In a namespace another manager owns, that manager's stop settings, as far as containerd's record holds them.
            StopSignal = !Manages ? RecordedStopSettings.Signal(rec) : Signals.Name(stop.Signal),
            StopTimeout = !Manages ? RecordedStopSettings.Timeout(rec) : stop.TimeoutSeconds,
            RestartPolicy = ContainerdRestartLabels.PolicyOf(labels) ?? RestartManager.PolicyOf(labels).ToString(),
            RestartPolicySource = ContainerdRestartLabels.Owned(labels) ? "containerd" : "PSContainerd",
            RestartCount = ContainerdRestartLabels.Owned(labels) ? StateLabels.ParseInt(labels.Get(ContainerdRestartLabels.Count)) ?? 0 : RestartManager.CountOf(labels),
            Labels = labels,
            CreatedAt = rec.CreatedAt == DateTime.MinValue ? null : rec.CreatedAt,
            Image = rec.Image,
            Managed = Manages && StateLabels.IsManaged(labels),
            AdoptedAt = StateLabels.ParseTime(labels.Get(StateLabels.Adopted)),
        };
    }

    private async Task<ContainerRecord> GetRecordAsync(string id, CancellationToken ct)
    {
        try
        {
            return await Client.GetContainerAsync(id, ct).ConfigureAwait(false);
        }
        catch (ContainerdException e) when (e.Kind == ContainerdErrorKind.NotFound)
        {
            throw new ContainerLookupException(LookupFailure.NotFound, id, $"No container with id '{id}' in namespace '{Namespace}'.");
        }
    }
}
