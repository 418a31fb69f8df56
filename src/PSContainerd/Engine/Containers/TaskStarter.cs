using PSContainerd.Containerd;

namespace PSContainerd.Engine;

/// <summary>
/// Creates and starts a container's task and records the start in its labels (a manual start,
/// and every restart, go through here); a container containerd's restart monitor watches is taken
/// from the monitor while it starts. On the container's queue.
/// </summary>
internal sealed class TaskStarter
{
    private readonly ContainerdClient _client;
    private readonly LabelStateStore _store;
    private readonly bool _manages;
    private readonly Action<string, string> _diagnostic;

    /// <param name="manages">False in a namespace another manager owns: the start is not recorded there.</param>
    /// <param name="diagnostic">(container id, message) for failures nobody awaits.</param>
    public TaskStarter(ContainerdClient client, LabelStateStore store, bool manages, Action<string, string> diagnostic)
    {
        _client = client;
        _store = store;
        _manages = manages;
        _diagnostic = diagnostic;
    }

    internal static string CouldNotStart(string id) => $"Container '{id}' could not start";

    /// <summary>How long the record of a start (state, start time, restart count) is retried while containerd is slow or restarting.</summary>
    public static readonly TimeSpan RecordStartRetry = TimeSpan.FromSeconds(30);

    /// <summary>Set by tests only: runs after a task started, before its start is recorded.</summary>
    public Func<string, Task>? BeforeRecordStart { get; set; }

    /// <summary>Creates and starts a new task; on the container's queue. A manual start clears the manual-stop mark.</summary>
    public async Task StartAsync(ContainerState s, bool manual, int restartCount, CancellationToken ct = default)
    {
        if (await _client.GetTaskAsync(s.Id, ct).ConfigureAwait(false) is { } old)
        {
            if (old.Status != Containerd.TaskStatus.Stopped)
            {
                s.SetRunning(old.Pid, DateTime.UtcNow, paused: old.Status.IsPaused());
                return;
            }

            await _client.DeleteTaskAsync(s.Id, ct).ConfigureAwait(false);
        }

        var notBefore = DateTime.UtcNow;
        string? log = s.Recorded.LogPath;
        string? io = log is null ? null : new Uri(log).AbsoluteUri;
        string? monitorStatus = manual && _manages ? await HoldFromMonitorAsync(s, ct).ConfigureAwait(false) : null;
        uint pid;
        try
        {
            await _client.CreateTaskThroughLeftoversAsync(s.Id, io, m => _diagnostic(s.Id, m), ct).ConfigureAwait(false);
            try
            {
                pid = await _client.StartTaskAsync(s.Id, ct).ConfigureAwait(false);
            }
            catch (ContainerdException)
            {
                await _client.TryDeleteTaskAsync(s.Id).ConfigureAwait(false);
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
        if (_manages)
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
                bool adopting = !s.Recorded.IsManaged;
                s.RefreshLabels((await TransientRetry.RunAsync(() => _store.RecordStartAsync(s.Id, manual, now, s.Labels, restartCount, CancellationToken.None), RecordStartRetry,
                    (e, pause) => _diagnostic(s.Id, $"recording the start (pid {pid}) failed ({e.Kind}: {e.Message}); trying again in {pause.TotalMilliseconds:0} ms")).ConfigureAwait(false)).Labels);
                if (adopting)
                {
                    _diagnostic(s.Id, $"adopted: the container was not managed by PSContainerd; from now on its state is recorded in its {StateLabels.Prefix}* labels");
                }
            }
            catch (ContainerdException e)
            {
                _diagnostic(s.Id, $"the task started (pid {pid}) but its start could not be recorded: {e.Message}");
            }
        }
    }

    /// <summary>
    /// Before a manual start: takes the status label away (the monitor, seeing a task it was told
    /// is stopped, would SIGKILL it) and holds <c>running</c> for the start's record to write
    /// back. Returns the status the label had, or null when the monitor does not watch it.
    /// </summary>
    private async Task<string?> HoldFromMonitorAsync(ContainerState s, CancellationToken ct)
    {
        if (!ContainerdRestartLabels.Owned(s.Labels))
        {
            return null;
        }

        string was = s.Labels.Get(ContainerdRestartLabels.Status) ?? s.Labels.Get(ContainerdRestartLabels.Held) ?? ContainerdRestartLabels.Stopped;
        var writes = ContainerdRestartLabels.Hold(s.Labels, ContainerdRestartLabels.Running).Concat(StateLabels.AdoptIfForeign(s.Labels)).ToArray();
        s.RefreshLabels((await _store.Write(s.Id, ct, writes).ConfigureAwait(false)).Labels);
        return was;
    }

    /// <summary>After a start that failed: the status the monitor had before, so it does what it did then.</summary>
    private async Task GiveBackToMonitorAsync(ContainerState s, string status)
    {
        try
        {
            s.RefreshLabels((await _store.Write(s.Id, CancellationToken.None, (ContainerdRestartLabels.Status, status), (ContainerdRestartLabels.Held, null)).ConfigureAwait(false)).Labels);
        }
        catch (ContainerdException e)
        {
            _diagnostic(s.Id, $"the start failed and the status of containerd's restart monitor ({ContainerdRestartLabels.Status}={status}) could not be put back: {e.Message}");
        }
    }
}
