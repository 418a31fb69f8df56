using System.Globalization;
using PSContainerd.Containerd;

namespace PSContainerd.Engine;

/// <summary>
/// What Restore-ContainerState would do to one container, said before it is done (-WhatIf,
/// -Confirm): read from the record and the task as containerd has them now, changing nothing. It
/// follows the decisions of <see cref="Reconciler"/>; the restore itself decides again when it runs.
/// </summary>
public sealed partial class ContainerEngine
{
    public async Task<string> DescribeRestoreAsync(string id, bool stopRunning, bool adopt, CancellationToken ct = default)
    {
        var rec = await GetRecordAsync(id, ct).ConfigureAwait(false);
        var task = await Client.GetTaskAsync(id, ct).ConfigureAwait(false);
        var labels = rec.Labels;
        if (Manages && !StateLabels.IsManaged(labels) && !adopt)
        {
            return $"report only: not managed by PSContainerd (no {StateLabels.Prefix} labels), nothing deleted or written (-Adopt takes it over)";
        }

        string adopting = Manages && !StateLabels.IsManaged(labels) ? $"adopt it (write {StateLabels.Adopted}), then " : string.Empty;
        return adopting + WhatRestoreDoes(labels, task, stopRunning, _states.GetValueOrDefault(id));
    }

    private string WhatRestoreDoes(IReadOnlyDictionary<string, string> labels, TaskInfo? task, bool stopRunning, ContainerState? s)
    {
        var intent = StopIntent.Parse(labels.Get(StateLabels.StopIntent));
        bool manual = intent is not null || RestartManager.IsManuallyStopped(labels) || s?.ManuallyStopped == true;
        string policy = RestartManager.PolicyOf(labels).ToString();
        if (task is not null && task.Status != Containerd.TaskStatus.Stopped)
        {
            string? owner = intent is null ? null : Reconciler.StopOwner(intent, s ?? new ContainerState(string.Empty));
            if (intent is not null && owner is not null)
            {
                return intent.Deadline is DateTime d && d <= DateTime.UtcNow
                    ? $"resume the stop by {owner}: its deadline passed, so SIGKILL, then delete the task and record the exit"
                    : $"resume the stop by {owner}: {Signals.Name(intent.Signal)} again for the grace period left, then delete the task and record the exit";
            }

            if (intent is not null)
            {
                return $"nothing: a stop by process {intent.OwnerPid} is in progress";
            }

            var stop = StopSettings.Resolve(labels, null, null, new List<string>());
            return stopRunning
                ? $"stop its running task (pid {task.Pid}: {Signals.Name(stop.Signal)}, SIGKILL after {stop.TimeoutSeconds} s), delete the task and record the exit"
                : $"watch its {task.Status.ToString().ToLowerInvariant()} task again (pid {task.Pid}); nothing deleted or written";
        }

        string restart = Manages && !manual && RestartManager.PolicyOf(labels).Kind != RestartPolicyKind.No
            ? $", then restart it if restart policy {policy} says so for that exit"
            : manual ? ", no restart (stopped by hand)" : string.Empty;
        if (task is not null)
        {
            return $"delete its stopped task, record exit code {task.ExitStatus.ToString(CultureInfo.InvariantCulture)}{restart}";
        }

        string? state = labels.Get(StateLabels.State);
        if (state == StateLabels.StateRunning)
        {
            return $"record exit code 255 (its labels say running but containerd has no task: status unknown){restart}";
        }

        if (state == StateLabels.StateRestarting)
        {
            return manual ? "cancel the pending restart (stopped by hand); leave it stopped" : $"carry out the pending restart (restart policy {policy})";
        }

        return "nothing: " + (RecordedExit.FromLabels(labels)?.ExitCode is int c ? $"stopped, exit code {c} recorded" : state is null ? "created, never started" : "stopped");
    }
}
