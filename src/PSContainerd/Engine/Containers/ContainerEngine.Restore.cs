using PSContainerd.Containerd;

namespace PSContainerd.Engine;

/// <summary>Restore-ContainerState: reconciling recorded state with containerd after a restart of this process, containerd or the host.</summary>
public sealed partial class ContainerEngine
{
    /// <summary>How many containers are restored at once; the same bound as Stop-Container's default throttle.</summary>
    public const int RestoreParallelism = 16;

    private Reconciler? _reconciler;

    // Restore-ContainerState lists the ids (ListIdsAsync), resolves the ones given, and restores
    // each through RestoreOneAsync: the one restore path, used by the cmdlet and the tests alike.

    private Reconciler Reconciler => _reconciler ??= new Reconciler(Client, Exits, Restarts, StateStore, Manages, StateOf, GetRecordForRestoreAsync,
        (id, signal, timeout, ct) => StopAsync(id, signal, timeout, null, ct));

    /// <summary>Restores one container by its exact id; see <see cref="Reconciler"/> for what is done.</summary>
    /// <param name="adopt">Also take over a container the module does not manage; without it such a container is only reported.</param>
    public async Task<RestoreResult> RestoreOneAsync(string id, bool stopRunning, CancellationToken ct = default, bool adopt = false)
    {
        await _monitor.WhenLiveAsync(TimeSpan.FromSeconds(10), ct).ConfigureAwait(false);
        // The report's parts know the container, not where it lives: the engine adds that (a
        // stop inside it carries its own, from the stop).
        return await Reconciler.RestoreAsync(id, stopRunning, adopt, ct).ConfigureAwait(false) with { Address = Address, Namespace = Namespace };
    }

    /// <summary>The ids of every container in the namespace, sorted.</summary>
    public async Task<IReadOnlyList<string>> ListIdsAsync(CancellationToken ct = default) =>
        (await Client.ListContainersAsync(ct).ConfigureAwait(false)).Select(c => c.Id).OrderBy(i => i, StringComparer.Ordinal).ToList();

    /// <summary>The container's record for a restore; a container that is gone is forgotten and reported as not found.</summary>
    internal async Task<ContainerRecord> GetRecordForRestoreAsync(ContainerState s, CancellationToken ct)
    {
        try
        {
            var rec = await Client.GetContainerAsync(s.Id, ct).ConfigureAwait(false);
            if (!s.Record.IsSame(rec.CreatedAt))
            {
                // A state of the container removed and created again since: its run is not the new one's.
                Forget(s);
            }

            return rec;
        }
        catch (ContainerdException e) when (e.Kind == ContainerdErrorKind.NotFound)
        {
            if (s.Loaded)
            {
                Forget(s);
            }
            else
            {
                _states.TryRemove(new KeyValuePair<string, ContainerState>(s.Id, s));
            }

            throw new ContainerLookupException(LookupFailure.NotFound, s.Id, $"No container with id '{s.Id}' in namespace '{Namespace}'.");
        }
    }
}
