using PSContainerd.Engine;

namespace PSContainerd.Commands;

/// <summary>
/// Import-Module: starts, in the background, the one call most sessions make first anyway: a
/// Version call to the default socket ($env:CONTAINERD_ADDRESS, else containerd's own path). The
/// channel, the HTTP/2 connection and the code that serves them are then ready, or on their way,
/// when the first cmdlet runs, instead of all being paid inside it. Only that address, only when a
/// file is there, never waited for, and silent whatever happens: an import must not fail or slow
/// down because containerd is not there. Started by the loader as soon as the module assembly is
/// loaded, before PowerShell scans it for cmdlets: the earlier it starts, the less of it the first
/// call waits for (a first call that meets it half done shares its connection and its work).
/// </summary>
public static class ModuleWarmUp
{
    public static void Start()
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
