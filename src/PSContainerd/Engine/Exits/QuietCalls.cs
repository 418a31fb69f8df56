using PSContainerd.Containerd;

namespace PSContainerd.Engine;

/// <summary>A containerd call whose failure only means "not known": its answer, or null (nothing) when it failed or was cut short.</summary>
internal static class QuietCalls
{
    public static async Task<T?> OrNull<T>(Func<Task<T?>> call) where T : class
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (ContainerdException)
        {
            return null;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>The container's record as containerd has it now, or null when it cannot say.</summary>
    public static Task<ContainerRecord?> RecordOf(ContainerdClient client, string id) =>
        OrNull<ContainerRecord>(async () => await client.GetContainerAsync(id).ConfigureAwait(false));

    public static async Task Ignoring(Func<Task> call)
    {
        try
        {
            await call().ConfigureAwait(false);
        }
        catch (ContainerdException)
        {
        }
    }
}
