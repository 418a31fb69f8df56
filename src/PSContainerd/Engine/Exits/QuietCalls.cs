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
