using System.Globalization;

namespace PSContainerd.Engine;

/// <summary>Recorded settings of an existing container (docker update), and where its log goes.</summary>
public sealed partial class ContainerEngine
{
    /// <summary>
    /// Rewrites the restart policy, stop signal and stop timeout given (null: unchanged) in the
    /// container's labels, on the container's queue so no stop or restart reads half of it. The
    /// next stop and the next restart decision use the new values. Returns the container afterwards.
    /// </summary>
    public async Task<ContainerInfo> UpdateSettingsAsync(string id, RestartPolicy? policy, int? stopSignal, int? stopTimeout, CancellationToken ct = default)
    {
        var writes = new List<(string Key, string? Value)>();
        if (policy is not null)
        {
            writes.Add((StateLabels.RestartPolicy, policy.ToString()));
        }

        if (stopSignal is int signal)
        {
            writes.Add((StateLabels.StopSignal, Signals.Name(signal)));
        }

        if (stopTimeout is int timeout)
        {
            writes.Add((StateLabels.StopTimeout, timeout.ToString(CultureInfo.InvariantCulture)));
        }

        if (writes.Count > 0)
        {
            var s = await TrackAsync(id, ct).ConfigureAwait(false);
            await s.Enqueue(async () => s.RefreshLabels((await StateStore.Write(id, ct, writes.ToArray()).ConfigureAwait(false)).Labels)).ConfigureAwait(false);
        }

        return await GetInfoAsync(id, ct).ConfigureAwait(false);
    }

    /// <summary>The file the container's stdout and stderr go to (New-Container -LogPath), or null when it has none.</summary>
    public async Task<string?> GetLogPathAsync(string id, CancellationToken ct = default) =>
        (await Client.GetContainerAsync(id, ct).ConfigureAwait(false)).Labels.GetValueOrDefault(StateLabels.LogPath);
}
