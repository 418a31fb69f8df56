using PSContainerd.Containerd;

namespace PSContainerd.Engine;

internal static class TaskCleanup
{
    /// <summary>
    /// How long a create waits out the leftovers of a create cut short by its caller: containerd
    /// 1.6 cleans them up within two of its 5-second cleanup timeouts (the shim's delete, then its
    /// shutdown), so 15 s covers it with room for a loaded host.
    /// </summary>
    internal static readonly TimeSpan LeftoverWait = TimeSpan.FromSeconds(15);

    /// <summary>Deletes the container's task if there is one to delete: no task, or one still
    /// running, is the caller's next step to find out, not an error here.</summary>
    public static async Task TryDeleteTaskAsync(this ContainerdClient client, string id, CancellationToken ct = default)
    {
        try
        {
            await client.DeleteTaskAsync(id, ct).ConfigureAwait(false);
        }
        catch (ContainerdException)
        {
        }
    }

    /// <summary>
    /// Creates the container's task, on its snapshot's mounts when it has one (<see cref="SnapshotRootfs"/>),
    /// through what an earlier create, cut short, left behind
    /// (docs/failure-modes.md):
    /// <list type="bullet">
    /// <item>cut short by a restart of containerd, a task containerd neither lists nor reports
    /// while every create answers "already exists": delete that task and create again, once (a
    /// task containerd does report is another process's create: its "already exists" is the caller's);</item>
    /// <item>cut short by its caller going away (a pwsh killed mid-create: the RPC's context is
    /// cancelled), a shim and bundle that containerd no longer lists but is still tearing down,
    /// for up to ~10 s, while every create answers "failed to start shim: mkdir …: file exists" or,
    /// once the bundle is gone but the old shim's socket still answers, "failed to start shim: start
    /// failed: dial unix …: connection refused": create again every 250 ms until both are gone,
    /// bounded by <see cref="LeftoverWait"/>;</item>
    /// <item>a delete still finishing in another process (its stop returned at containerd's
    /// <c>/tasks/delete</c>, before containerd removed the old bundle), which can take the new
    /// shim's bundle folder from under it: "failed to start shim: start failed: … rename
    /// …/.address …/address: no such file or directory"; waited out the same way.</item>
    /// </list>
    /// Any other refusal, or the same one again past these, is the caller's.
    /// </summary>
    public static async Task CreateTaskThroughLeftoversAsync(this ContainerdClient client, string id, string? io, Action<string> diagnose, CancellationToken ct)
    {
        var rootfs = await client.MountsForAsync(id, ct).ConfigureAwait(false);
        bool deletedHidden = false;
        DateTime? leftoverSince = null;
        while (true)
        {
            try
            {
                await client.CreateTaskAsync(id, io, io, ct, rootfs).ConfigureAwait(false);
                if (leftoverSince is { } since)
                {
                    diagnose($"the task was created once containerd had cleared the earlier create's leftovers ({(DateTime.UtcNow - since).TotalSeconds:0.0} s)");
                }

                return;
            }
            catch (ContainerdException e) when (e.Kind == ContainerdErrorKind.AlreadyExists && !deletedHidden)
            {
                // containerd holds a task it does not report (Get and List say none): a create cut
                // short by a restart of containerd leaves its shim and bundle behind (chaos run,
                // seed 20261128). A task it does report is another process's create, never ours to delete.
                if (await client.GetTaskAsync(id, ct).ConfigureAwait(false) is not null)
                {
                    throw;
                }

                diagnose($"task create refused ({e.Message}) though containerd reports no task: deleting the task containerd holds and creating it again");
                deletedHidden = true;
                await client.TryDeleteTaskAsync(id).ConfigureAwait(false);
            }
            catch (ContainerdException e) when (IsLeftoverBundle(e) && (leftoverSince is null || DateTime.UtcNow - leftoverSince < LeftoverWait))
            {
                // A create cut short by its caller going away (chaos run, seed 2): containerd
                // dropped the task from its list but still tears its shim down.
                if (leftoverSince is null)
                {
                    leftoverSince = DateTime.UtcNow;
                    diagnose($"task create refused ({e.Message}): an earlier create of this container was cut short and containerd is still clearing it; creating again once it has (at most {LeftoverWait.TotalSeconds:0} s)");
                }

                await Task.Delay(250, ct).ConfigureAwait(false);
            }
        }
    }

    /// <summary>containerd 1.6's answer to a create while an earlier one's shim is still being torn down (<see cref="ContainerdException.ShimLeftover"/>).</summary>
    internal static bool IsLeftoverBundle(ContainerdException e) => e.ShimLeftover;
}
