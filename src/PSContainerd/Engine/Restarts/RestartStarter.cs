using System.Globalization;
using PSContainerd.Containerd;

namespace PSContainerd.Engine;

/// <summary>
/// Carries a restart out, or records why it did not happen: the start itself (a failure is
/// recorded as a stop with its error), a restart asked for now under the container's lock, and
/// a cancelled restart written down as a stop by hand. Every step on the container's queue.
/// </summary>
internal sealed class RestartStarter
{
    /// <summary>Starts a container's task on its queue: (state, manual start, restart count).</summary>
    public delegate Task StartTask(ContainerState s, bool manual, int restartCount, CancellationToken ct);

    private readonly ContainerdClient _client;
    private readonly LabelStateStore _store;
    private readonly EngineEvents _events;
    private readonly string _namespace;
    private readonly StartTask _start;
    private readonly Action<string, string> _diagnostic;
    private readonly PendingRestarts _pending;

    public RestartStarter(ContainerdClient client, LabelStateStore store, EngineEvents events, string @namespace, StartTask start, Action<string, string> diagnostic, ContainerLock containerLock, PendingRestarts pending)
    {
        _client = client;
        _store = store;
        _events = events;
        _namespace = @namespace;
        _start = start;
        _diagnostic = diagnostic;
        ContainerLock = containerLock;
        _pending = pending;
    }

    /// <summary>The cross-process lock a restart holds from its last label read until its task runs.</summary>
    public ContainerLock ContainerLock { get; }

    /// <summary>Cancels a pending restart, leaving the container stopped by hand; no signal is sent. On the container's queue.</summary>
    public async Task CancelAsync(ContainerState s)
    {
        _pending.Cancel(s);
        s.MarkManuallyStopped();
        try
        {
            s.RefreshLabels((await _store.Write(s.Id, CancellationToken.None,
                (StateLabels.ManuallyStopped, "true"),
                (StateLabels.ContainerdExplicitlyStopped, "true"),
                (StateLabels.RestartDue, null),
                (StateLabels.State, StateLabels.StateStopped)).ConfigureAwait(false)).Labels);
        }
        catch (ContainerdException e)
        {
            _diagnostic(s.Id, $"could not record the cancelled restart: {e.Message}");
        }

        s.SetStopped();
    }

    /// <summary>
    /// A restart decided by restore (Restore-ContainerState, asked for by hand), at once and without
    /// backoff. With <paramref name="resetCount"/> it is a fresh start (count 0, manual stop
    /// cleared): moby's restore starts containers with a reset restart manager. Without it, it is
    /// the restart a dead process had pending: counted like any policy restart. On the container's queue.
    /// </summary>
    public async Task<bool> RestartNowAsync(ContainerState s, string source, bool resetCount)
    {
        _pending.Cancel(s);
        bool stoppedByHand = s.ManuallyStopped;
        using var held = await ContainerLock.AcquireAsync(s.Id, ContainerLock.DefaultTimeout).ConfigureAwait(false);
        if (held is null)
        {
            _diagnostic(s.Id, $"restart by {source}: another process held the container's lock for {ContainerLock.DefaultTimeout.TotalSeconds:0} s; not restarted");
            return false;
        }

        // Decided from labels read before the lock: a stop by hand recorded since then wins.
        if (!stoppedByHand && await StoppedByHandSinceAsync(s).ConfigureAwait(false))
        {
            await CancelAsync(s).ConfigureAwait(false);
            _diagnostic(s.Id, $"restart by {source}: stopped by hand meanwhile; not restarted");
            return false;
        }

        s.Restarts.Reset();
        int count = resetCount ? 0 : s.Recorded.NextRestartCount;
        return await StartAsync(s, manual: resetCount, count, source).ConfigureAwait(false);
    }

    /// <summary>Whether the labels as containerd holds them now say stopped by hand (false when they cannot be read: the start that follows reports that).</summary>
    private async Task<bool> StoppedByHandSinceAsync(ContainerState s)
    {
        try
        {
            s.RefreshLabels((await _client.GetContainerAsync(s.Id).ConfigureAwait(false)).Labels);
        }
        catch (ContainerdException)
        {
            return false;
        }

        return s.Recorded.ManuallyStopped;
    }

    /// <summary>
    /// Starts the task and reports it. Any failure (rootfs gone, containerd down, anything else)
    /// is recorded as a stop with the error (moby's SetStopped + checkpoint), never left as
    /// Restarting for ever.
    /// </summary>
    public async Task<bool> StartAsync(ContainerState s, bool manual, int count, string source)
    {
        try
        {
            await _start(s, manual, count, CancellationToken.None).ConfigureAwait(false);
            _events.Publish(_namespace, s.Id, EventTypes.Restart, null, ("RestartCount", count.ToString(CultureInfo.InvariantCulture)), ("Source", source));
            return true;
        }
        catch (Exception e)
        {
            _diagnostic(s.Id, $"restart by {source} failed: {e.Message}");
            try
            {
                s.RefreshLabels((await _store.Write(s.Id, CancellationToken.None,
                    (StateLabels.State, StateLabels.StateStopped),
                    (StateLabels.RestartDue, null),
                    (StateLabels.RestartError, e.Message)).ConfigureAwait(false)).Labels);
            }
            catch (ContainerdException w)
            {
                _diagnostic(s.Id, $"could not record the failed restart: {w.Message}");
            }

            s.SetStopped();
            return false;
        }
    }
}
