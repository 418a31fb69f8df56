using PSContainerd.Containerd;

namespace PSContainerd.Engine;

internal static class TaskCleanup
{
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
}
