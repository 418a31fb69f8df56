using PSContainerd.Containerd;

namespace PSContainerd.Engine;

/// <summary>
/// Writes the module's state labels. Every write names only the keys it changes (a
/// <c>labels.KEY</c> field mask), so concurrent writers of different keys never overwrite each other.
/// </summary>
public sealed class LabelStateStore
{
    private readonly ContainerdClient _client;

    public LabelStateStore(ContainerdClient client) => _client = client;

    /// <param name="labels">The container's labels as last read: a container the module does not manage yet is adopted by this write.</param>
    public Task<ContainerRecord> RecordStopIntentAsync(string id, StopIntent intent, IReadOnlyDictionary<string, string>? labels = null, CancellationToken ct = default) =>
        Write(id, ct, new[]
        {
            (StateLabels.StopIntent, intent.ToString()),
            (StateLabels.ManuallyStopped, "true"),
            // containerd's own restart monitor (nerdctl's policies) must leave it alone too.
            (StateLabels.ContainerdExplicitlyStopped, "true"),
            (StateLabels.RestartDue, (string?)null),
        }.Concat(StateLabels.AdoptIfForeign(labels)).Concat(ContainerdRestartLabels.Hold(labels ?? NoLabels, ContainerdRestartLabels.Stopped)).ToArray());

    private static readonly IReadOnlyDictionary<string, string> NoLabels = new Dictionary<string, string>();

    /// <param name="leaveState">Record the exit but not the state: the restart supervisor (another engine) may be about to record Restarting.</param>
    /// <param name="labels">The container's labels as last read: a status held from containerd's restart monitor for a stop or start is given back.</param>
    public Task<ContainerRecord> RecordExitAsync(string id, RecordedExit exit, CancellationToken ct = default, bool leaveState = false, IReadOnlyDictionary<string, string>? labels = null)
    {
        var writes = new List<(string, string?)>(ContainerdRestartLabels.Release(labels ?? NoLabels))
        {
            (StateLabels.ExitCode, exit.ExitCode?.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            (StateLabels.ExitedAt, exit.ExitedAt is null ? null : StateLabels.FormatTime(exit.ExitedAt.Value)),
            (StateLabels.OomKilled, exit.OomKilled ? "true" : null),
            (StateLabels.StopIntent, null),
        };
        if (!leaveState)
        {
            writes.Add((StateLabels.State, StateLabels.StateStopped));
        }

        return Write(id, ct, writes.ToArray());
    }

    /// <summary>A start by the user clears the manual stop, as docker start does.</summary>
    /// <param name="labels">The container's labels as last read: a container the module does not manage yet is adopted by this write.</param>
    public Task<ContainerRecord> RecordStartAsync(string id, bool manual, DateTime at, IReadOnlyDictionary<string, string>? labels = null, int? restartCount = null, CancellationToken ct = default)
    {
        var writes = new List<(string, string?)>(StateLabels.AdoptIfForeign(labels).Concat(ContainerdRestartLabels.Release(labels ?? NoLabels)))
        {
            (StateLabels.State, StateLabels.StateRunning),
            (StateLabels.StartedAt, StateLabels.FormatTime(at)),
            (StateLabels.RestartDue, null),
            (StateLabels.OomKilled, null),
            (StateLabels.RestartError, null),
        };
        if (manual)
        {
            writes.Add((StateLabels.ManuallyStopped, null));
            writes.Add((StateLabels.ContainerdExplicitlyStopped, null));
            writes.Add((StateLabels.StopIntent, null));
        }

        if (restartCount is not null)
        {
            writes.Add((StateLabels.RestartCount, restartCount.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        return Write(id, ct, writes.ToArray());
    }

    public Task<ContainerRecord> RecordRestartingAsync(string id, DateTime due, CancellationToken ct = default) =>
        Write(id, ct, (StateLabels.State, StateLabels.StateRestarting), (StateLabels.RestartDue, StateLabels.FormatTime(due)));

    public Task<ContainerRecord> RecordOomAsync(string id, CancellationToken ct = default) =>
        Write(id, ct, (StateLabels.OomKilled, "true"));

    /// <summary>Marks a container as manually stopped without a stop in flight (a stop signal sent by hand, a cancelled restart).</summary>
    /// <param name="labels">The container's labels as last read: a container the module does not manage yet is adopted by this write.</param>
    public Task<ContainerRecord> RecordManualStopAsync(string id, IReadOnlyDictionary<string, string>? labels = null, CancellationToken ct = default) =>
        Write(id, ct, new[]
        {
            (StateLabels.ManuallyStopped, "true"),
            (StateLabels.ContainerdExplicitlyStopped, "true"),
            (StateLabels.RestartDue, (string?)null),
        }.Concat(StateLabels.AdoptIfForeign(labels)).ToArray());

    /// <summary>Restore-ContainerState -Adopt: from now on the module records this container's state.</summary>
    public Task<ContainerRecord> AdoptAsync(string id, CancellationToken ct = default) =>
        Write(id, ct, (StateLabels.Adopted, StateLabels.FormatTime(DateTime.UtcNow)));

    public Task<ContainerRecord> Write(string id, CancellationToken ct, params (string Key, string? Value)[] labels)
    {
        var map = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var (k, v) in labels)
        {
            map[k] = v;
        }

        return _client.UpdateLabelsAsync(id, map, ct);
    }
}
