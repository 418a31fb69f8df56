using Google.Protobuf.WellKnownTypes;
using PSContainerd.Containerd.Api.Events;
using E = PSContainerd.Containerd.Api.EventTypes;

namespace PSContainerd.Containerd;

/// <summary>Turns an event envelope into the client's own event records. The Any's type URL is the bare message name.</summary>
internal static class EventDecoder
{
    public const string MarkerTypeUrl = "pscontainerd.SyncMarker";

    public static ContainerdEvent? Decode(Envelope env)
    {
        var ts = ContainerdClient.ToDate(env.Timestamp) ?? DateTime.UtcNow;
        var ns = env.Namespace;
        var any = env.Event;
        if (any is null)
        {
            return null;
        }

        string name = any.TypeUrl[(any.TypeUrl.LastIndexOf('/') + 1)..];
        switch (name)
        {
            case "containerd.events.TaskExit":
                {
                    var e = E.TaskExit.Parser.ParseFrom(any.Value);
                    return new TaskExitEvent(ts, ns, e.ContainerId, e.Id, e.Pid, e.ExitStatus, ContainerdClient.ToDate(e.ExitedAt) ?? ts);
                }

            case "containerd.events.TaskDelete":
                {
                    var e = E.TaskDelete.Parser.ParseFrom(any.Value);
                    return new TaskDeleteEvent(ts, ns, e.ContainerId, e.Pid, e.ExitStatus, ContainerdClient.ToDate(e.ExitedAt) ?? ts);
                }

            case "containerd.events.TaskStart":
                {
                    var e = E.TaskStart.Parser.ParseFrom(any.Value);
                    return new TaskStartEvent(ts, ns, e.ContainerId, e.Pid);
                }

            case "containerd.events.TaskCreate":
                {
                    var e = E.TaskCreate.Parser.ParseFrom(any.Value);
                    return new TaskCreateEvent(ts, ns, e.ContainerId, e.Pid);
                }

            case "containerd.events.TaskOOM":
                return new TaskOomEvent(ts, ns, E.TaskOOM.Parser.ParseFrom(any.Value).ContainerId);
            case "containerd.events.TaskPaused":
                return new TaskPausedEvent(ts, ns, E.TaskPaused.Parser.ParseFrom(any.Value).ContainerId);
            case "containerd.events.TaskResumed":
                return new TaskResumedEvent(ts, ns, E.TaskResumed.Parser.ParseFrom(any.Value).ContainerId);
            case "containerd.events.TaskExecAdded":
                {
                    var e = E.TaskExecAdded.Parser.ParseFrom(any.Value);
                    return new ExecEvent(ts, ns, env.Topic, e.ContainerId, e.ExecId);
                }

            case "containerd.events.TaskExecStarted":
                {
                    var e = E.TaskExecStarted.Parser.ParseFrom(any.Value);
                    return new ExecEvent(ts, ns, env.Topic, e.ContainerId, e.ExecId);
                }

            case "containerd.events.ContainerCreate":
                return new ContainerLifecycleEvent(ts, ns, env.Topic, E.ContainerCreate.Parser.ParseFrom(any.Value).Id);
            case "containerd.events.ContainerUpdate":
                {
                    // The labels after the update: a loaded state refreshes from them (another process's stop).
                    var e = E.ContainerUpdate.Parser.ParseFrom(any.Value);
                    return new ContainerLifecycleEvent(ts, ns, env.Topic, e.Id, new Dictionary<string, string>(e.Labels, StringComparer.Ordinal));
                }
            case "containerd.events.ContainerDelete":
                return new ContainerLifecycleEvent(ts, ns, env.Topic, E.ContainerDelete.Parser.ParseFrom(any.Value).Id);
            case MarkerTypeUrl:
                return new MarkerEvent(ts, ns, env.Topic, any.Value.ToStringUtf8());
            default:
                return null;
        }
    }
}
