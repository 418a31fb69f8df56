using System.Management.Automation;
using PSContainerd.Engine;

namespace PSContainerd.Commands;

/// <summary>
/// Import-Module: starts, in the background, the one call most sessions make first anyway: a
/// Version call to the default socket ($env:CONTAINERD_ADDRESS, else containerd's own path). The
/// channel, the HTTP/2 connection and the code that serves them are then ready, or on their way,
/// when the first cmdlet runs, instead of all being paid inside it. Only that address, only when a
/// file is there, never waited for, and silent whatever happens: an import must not fail or slow
/// down because containerd is not there.
/// </summary>
public sealed class ModuleWarmUp : IModuleAssemblyInitializer
{
    public void OnImport()
    {
        try
        {
            ContainerEngine.WarmUp(ContainerdCmdlet.DefaultAddressFromEnvironment);
        }
        catch (Exception)
        {
            // nothing to warm; the first call will say what is wrong
        }
    }
}
