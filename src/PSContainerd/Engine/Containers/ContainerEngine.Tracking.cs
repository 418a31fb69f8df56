using PSContainerd.Containerd;

namespace PSContainerd.Engine;

/// <summary>Loading, event handling and resync: how the engine's picture follows containerd's.</summary>
public sealed partial class ContainerEngine
{
    /// <summary>First look at a container (on its queue): its labels and task.</summary>
    /// <param name="recordOnly">A first look records an exit nobody watched and restarts nothing (see <see cref="ApplyAsync"/>).</param>
    private async Task LoadAsync(ContainerState s, CancellationToken ct, bool recordOnly = true)
    {
        if (s.Loaded)
        {
            return;
        }

        ContainerRecord rec;
        try
        {
            rec = await Client.GetContainerAsync(s.Id, ct).ConfigureAwait(false);
        }
        catch (ContainerdException e) when (e.Kind == ContainerdErrorKind.NotFound)
        {
            _states.TryRemove(new KeyValuePair<string, ContainerState>(s.Id, s));
            throw new ContainerLookupException(LookupFailure.NotFound, s.Id, $"No container with id '{s.Id}' in namespace '{Namespace}'.");
        }

        s.Record.Bind(rec.CreatedAt);
        var task = await Client.GetTaskAsync(s.Id, ct).ConfigureAwait(false);
        await ApplyAsync(s, rec.Labels, task, recordOnly ? "load" : "supervisor").ConfigureAwait(false);
        s.MarkLoaded();
    }

    /// <summary>Brings a state in line with labels and a task as containerd reports them now.</summary>
    private async Task ApplyAsync(ContainerState s, IReadOnlyDictionary<string, string> labels, TaskInfo? task, string source)
    {
        var recorded = RecordedState.Of(labels);
        s.RefreshLabels(labels);
        var startedAt = recorded.StartedAt;
        switch (task?.Status)
        {
            case null:
                bool restarting = recorded.RecordsRestarting && Restarts.HasPending(s);
                s.SetNotRunning(restarting ? ContainerStatus.Restarting : ContainerStatus.Stopped, recorded.Exit);
                break;
            case Containerd.TaskStatus.Stopped:
                s.SetRunning(task.Pid, startedAt);
                // An exit nobody finalised. A first look by an engine that is not the restart
                // supervisor records it and restarts nothing (leaving the decision to the holder);
                // the holder decides as for any exit it sees, since nobody else will.
                await Exits.FinalizeAsync(s, task.Pid, new ExitInfo(task.ExitStatus, task.ExitedAt, task.Pid), source, recordOnly: source == "load" && !Restarts.IsHolder).ConfigureAwait(false);
                break;
            default:
                s.SetRunning(task.Pid, startedAt, paused: task.Status.IsPaused(), created: task.Status == Containerd.TaskStatus.Created);
                break;
        }
    }

    /// <summary>Routes an event to its container's queue; returns at once so one slow container never holds up the stream.</summary>
    private Task DispatchAsync(ContainerdEvent ev)
    {
        if (ev.ContainerId.Length == 0)
        {
            return Task.CompletedTask;
        }

        if (ev is TaskExitEvent { IsInit: false } exec)
        {
            // An exec process: it does not change the container's state.
            PublishExecExit(exec);
            return Task.CompletedTask;
        }

        if (ev is ContainerLifecycleEvent { Topic: "/containers/create" })
        {
            Events.Publish(Namespace, ev.ContainerId, EventTypes.Create, ev.Timestamp);
            return Task.CompletedTask;
        }

        if (ev is ContainerLifecycleEvent { Topic: "/containers/update" } update)
        {
            // Another process wrote labels (a stop's intent and manual flag, a start): a loaded
            // state follows them, so no decision here is made from a stale copy.
            Events.Publish(Namespace, ev.ContainerId, EventTypes.Update, ev.Timestamp);
            if (update.Labels is { } labels && _states.TryGetValue(ev.ContainerId, out var loaded))
            {
                _ = loaded.Enqueue(() =>
                {
                    if (loaded.Loaded)
                    {
                        loaded.RefreshLabels(labels);
                    }

                    return Task.CompletedTask;
                });
            }

            return Task.CompletedTask;
        }

        if (ev is TaskDeleteEvent deleted && _states.TryGetValue(ev.ContainerId, out var deleting))
        {
            deleting.Delete.Seen(deleted.Pid); // off the queue: the delete it confirms holds the queue (ExitRecorder.RecordAsync)
        }

        var s = StateOf(ev.ContainerId);
        _ = s.Enqueue(() => HandleAsync(s, ev));
        return Task.CompletedTask;
    }

    private async Task HandleAsync(ContainerState s, ContainerdEvent ev)
    {
        try
        {
            switch (ev)
            {
                case TaskExitEvent exit:
                    if (!await InitExitCheck.IsInitAsync(Client, s, exit.Pid).ConfigureAwait(false))
                    {
                        PublishExecExit(exit); // an exec given the container's id as its exec id
                        break;
                    }

                    if (!s.Loaded && !await AdoptAsync(s, exit.Pid).ConfigureAwait(false))
                    {
                        Events.Publish(Namespace, s.Id, EventTypes.Exit, exit.ExitedAt, ("ExitCode", exit.ExitStatus.ToString(System.Globalization.CultureInfo.InvariantCulture)), ("Source", "event"));
                        break;
                    }

                    await Exits.FinalizeAsync(s, exit.Pid, new ExitInfo(exit.ExitStatus, exit.ExitedAt, exit.Pid), "event").ConfigureAwait(false);
                    break;
                case TaskDeleteEvent del:
                    // Also when not live: it may carry the real status of an exit recorded as unknown.
                    if (s.Loaded && (!s.IsLive || s.Pid == 0 || s.Pid == del.Pid))
                    {
                        await Exits.FinalizeAsync(s, del.Pid, new ExitInfo(del.ExitStatus, del.ExitedAt, del.Pid), "delete-event").ConfigureAwait(false);
                    }

                    break;
                case TaskStartEvent start:
                    if (s.Loaded)
                    {
                        s.SetRunning(start.Pid, start.Timestamp);
                    }

                    Events.Publish(Namespace, s.Id, EventTypes.Start, start.Timestamp, ("Pid", start.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)));
                    break;
                case TaskOomEvent oom:
                    s.MarkOom();
                    if (Manages && s.Recorded.IsManaged)
                    {
                        s.RefreshLabels((await StateStore.RecordOomAsync(s.Id).ConfigureAwait(false)).Labels);
                    }

                    Events.Publish(Namespace, s.Id, EventTypes.Oom, oom.Timestamp);
                    break;
                case TaskPausedEvent p:
                    s.SetPaused(true);
                    Events.Publish(Namespace, s.Id, EventTypes.Paused, p.Timestamp);
                    break;
                case TaskResumedEvent r:
                    s.SetPaused(false);
                    Events.Publish(Namespace, s.Id, EventTypes.Resumed, r.Timestamp);
                    break;
                case ContainerLifecycleEvent { Topic: "/containers/delete" } d:
                    Forget(s);
                    Events.Publish(Namespace, s.Id, EventTypes.Delete, d.Timestamp);
                    break;
            }
        }
        catch (Exception e)
        {
            Diagnose(s.Id, $"handling {ev.Topic} failed: {e.Message}");
        }
    }
    /// <summary>
    /// An exit of a container nobody here looked at yet: take it on when the module created it
    /// (it carries the module's labels, so restart policy and auto-remove apply); leave others' alone.
    /// </summary>
    private async Task<bool> AdoptAsync(ContainerState s, uint pid)
    {
        ContainerRecord rec;
        try
        {
            rec = await Client.GetContainerAsync(s.Id).ConfigureAwait(false);
        }
        catch (ContainerdException)
        {
            return false;
        }

        var recorded = RecordedState.Of(rec.Labels);
        if (!recorded.IsManaged)
        {
            return false;
        }

        s.Record.Bind(rec.CreatedAt);
        s.RefreshLabels(rec.Labels);
        s.SetRunning(pid, recorded.StartedAt);
        s.MarkLoaded();
        return true;
    }

    /// <summary>
    /// After every (re)subscribe: find what changed while the stream was down. Containers as well
    /// as tasks: one deleted meanwhile is forgotten (its Removed waiters woken). Each container's
    /// part is put on its queue and not awaited here, so one hung shim never holds up the stream;
    /// states still loading are covered, since their load runs before this on the same queue.
    /// </summary>
    private async Task ResyncAsync(CancellationToken ct)
    {
        var known = _states.Values.ToList();
        if (known.Count == 0)
        {
            await SweepIfHolderAsync(ct).ConfigureAwait(false);
            return;
        }

        var containers = (await Client.ListContainersAsync(ct).ConfigureAwait(false)).Select(c => c.Id).ToHashSet(StringComparer.Ordinal);
        var tasks = (await Client.ListTasksAsync(ct).ConfigureAwait(false)).ToDictionary(t => t.ContainerId, StringComparer.Ordinal);
        foreach (var s in known)
        {
            bool exists = containers.Contains(s.Id);
            var task = tasks.GetValueOrDefault(s.Id);
            _ = s.Enqueue(async () =>
            {
                if (!s.Loaded || s.IsRemoved)
                {
                    return;
                }

                if (!exists)
                {
                    Forget(s);
                    Events.Publish(Namespace, s.Id, EventTypes.Delete, null, ("Source", "resync"));
                    return;
                }

                await ReconcileAsync(s, task).ConfigureAwait(false);
            });
        }

        await SweepIfHolderAsync(ct).ConfigureAwait(false);
    }

    /// <summary>The holder's sweep after a reconnect; a failure is logged, the next reconnect sweeps again.</summary>
    private async Task SweepIfHolderAsync(CancellationToken ct)
    {
        if (!Restarts.IsHolder)
        {
            return;
        }

        try
        {
            await SweepAsync(ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is ContainerdException or OperationCanceledException)
        {
            Log($"restart supervisor: the sweep after a reconnect failed ({e.Message})");
        }
    }

    private async Task ReconcileAsync(ContainerState s, TaskInfo? task)
    {
        try
        {
            if (task is not null && task.Status != Containerd.TaskStatus.Stopped && (!s.IsLive || task.Pid != s.Pid))
            {
                s.SetRunning(task.Pid, DateTime.UtcNow, paused: task.Status.IsPaused()); // started by someone else meanwhile
                return;
            }

            if (!s.IsLive)
            {
                return;
            }

            if (task is { Status: Containerd.TaskStatus.Stopped })
            {
                await Exits.FinalizeAsync(s, task.Pid, new ExitInfo(task.ExitStatus, task.ExitedAt, task.Pid), "resync").ConfigureAwait(false);
            }
            else if (task is null)
            {
                // The task vanished while the stream was down (deleted by someone, or containerd
                // cleaned up a dead shim): finalise with whatever record is left.
                await Exits.FinalizeAsync(s, 0, null, "resync").ConfigureAwait(false);
            }
            else
            {
                s.SetPaused(task.Status.IsPaused());
            }
        }
        catch (Exception e)
        {
            Diagnose(s.Id, $"resync failed: {e.Message}");
        }
    }
}
