using System.Globalization;

namespace PSContainerd.Engine;

/// <summary>How Restore-ContainerState words what it found and did for one container (<see cref="RestoreResult"/>).</summary>
internal static class RestoreReport
{
    public static string StopDetail(string prefix, StopResult r) =>
        r.Outcome == StopOutcome.Failed
            ? $"{prefix}; the stop failed: {r.Error}"
            : $"{prefix}; {r.Outcome}, escalation {r.Escalation}, exit code {r.ExitCode?.ToString(CultureInfo.InvariantCulture) ?? "unknown"}";

    public static RestoreResult AfterExit(ContainerState s, string taskStatus, string why)
    {
        var exit = s.LastExit;
        string code = exit?.ExitCode?.ToString(CultureInfo.InvariantCulture) ?? "unknown";
        if (s.IsRemoved)
        {
            return Result(s, taskStatus, RestoreAction.RecordedExit, exit?.ExitCode, $"{why}: exit code {code} recorded; removed (auto-remove)");
        }

        if (s.IsLive)
        {
            return Result(s, taskStatus, RestoreAction.Restarted, exit?.ExitCode, $"{why}: exit code {code} recorded; restarted by policy {s.Recorded.Policy}");
        }

        if (s.Status == ContainerStatus.Restarting)
        {
            return Result(s, taskStatus, RestoreAction.Restarted, exit?.ExitCode, $"{why}: exit code {code} recorded; restart scheduled after {s.Restarts.Backoff.TotalMilliseconds:0} ms");
        }

        return Result(s, taskStatus, RestoreAction.RecordedExit, exit?.ExitCode, $"{why}: exit code {code} recorded{(exit?.OomKilled == true ? " (OOM-killed)" : string.Empty)}");
    }

    /// <summary>When the pending restart comes: as recorded, or, beyond the longest backoff (a clock step, a hand-set label), when the supervisor carries it out instead.</summary>
    public static string DueText(RecordedState recorded)
    {
        if (recorded.RestartDue is not DateTime due)
        {
            return "soon";
        }

        var at = RestartManager.ClampDue(due, DateTime.UtcNow, out bool clamped);
        return clamped ? $"{at:O} (recorded as {due:O}, beyond the longest backoff)" : recorded.RestartDueText!;
    }

    public static string Describe(string? recordedState, RecordedExit? exit) =>
        recordedState is null && exit is null ? "created, never started"
        : exit?.ExitCode is int c ? $"stopped, exit code {c} recorded"
        : "stopped";

    public static RestoreResult Result(ContainerState s, string taskStatus, RestoreAction action, int? exitCode, string detail) => new()
    {
        Id = s.Id,
        TaskStatus = taskStatus,
        Action = action,
        ExitCode = exitCode,
        Detail = detail,
    };
}
