using System.Management.Automation;
using PSContainerd.Engine;

namespace PSContainerd.Commands;

/// <summary>
/// Remove-Module: stops every engine's event monitor and closes the sockets, so a re-import starts
/// clean and no background loop keeps running against an unloaded module.
/// </summary>
public sealed class ModuleCleanup : IModuleAssemblyCleanup
{
    // Disposing waits for the event streams to end; a wedged containerd must not hang Remove-Module.
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(5);

    public void OnRemove(PSModuleInfo psModuleInfo)
    {
        try
        {
            ContainerEngine.DisposeAllAsync().WaitAsync(Bound).GetAwaiter().GetResult();
        }
        catch (Exception)
        {
            // A timeout leaves the rest to finish in the background; any other failure (containerd
            // gone) has nothing left to clean. Either way Remove-Module must not fail.
        }
    }
}
