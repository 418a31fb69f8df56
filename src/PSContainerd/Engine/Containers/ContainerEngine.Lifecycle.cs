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
                    throw e.For(TaskStarter.CouldNotStart(id));
                }

                return;
            }

            s.Restarts.Reset();
            await Starter.StartAsync(s, manual: true, restartCount: 0, ct).ConfigureAwait(false);
        }).WaitAsync(ct).ConfigureAwait(false);
        return await GetInfoAsync(id, ct).ConfigureAwait(false);
    }

    internal ContainerInfo BuildInfo(ContainerRecord rec, TaskInfo? task)
    {
        var labels = rec.Labels;
        var onRecord = RecordedState.Of(labels);
        var recorded = onRecord.Exit;
        _states.TryGetValue(rec.Id, out var s);
        var status = task?.Status switch
        {
            Containerd.TaskStatus.Created => ContainerStatus.Created,
            Containerd.TaskStatus.Running => ContainerStatus.Running,
            Containerd.TaskStatus.Paused or Containerd.TaskStatus.Pausing => ContainerStatus.Paused,
            Containerd.TaskStatus.Stopped => ContainerStatus.Stopped,
            Containerd.TaskStatus.Unknown => ContainerStatus.Unknown,
            _ => s?.Status == ContainerStatus.Restarting || onRecord.RecordsRestarting ? ContainerStatus.Restarting
                : recorded is not null || onRecord.State is not null ? ContainerStatus.Stopped
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
            Address = Address,
            Status = status,
            Pid = task is null || taskExited || task.Pid == 0 ? null : task.Pid,
            ExitCode = taskExited ? (int)task!.ExitStatus : recorded?.ExitCode,
            ExitedAt = taskExited ? task!.ExitedAt : recorded?.ExitedAt,
            OOMKilled = recorded?.OomKilled ?? false,
            // In a namespace another manager owns, that manager's stop settings, as far as containerd's record holds them.
            StopSignal = !Manages ? RecordedStopSettings.Signal(rec) : Signals.Name(stop.Signal),
            StopTimeout = !Manages ? RecordedStopSettings.Timeout(rec) : stop.TimeoutSeconds,
            RestartPolicy = ContainerdRestartLabels.PolicyOf(labels) ?? onRecord.Policy.ToString(),
            RestartPolicySource = ContainerdRestartLabels.Owned(labels) ? "containerd" : "PSContainerd",
            RestartCount = ContainerdRestartLabels.Owned(labels) ? StateLabels.ParseInt(labels.Get(ContainerdRestartLabels.Count)) ?? 0 : onRecord.RestartCount,
            Labels = labels,
            CreatedAt = rec.CreatedAt == DateTime.MinValue ? null : rec.CreatedAt,
            Image = rec.Image,
            Managed = Manages && onRecord.IsManaged,
            AdoptedAt = onRecord.AdoptedAt,
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
