using System.Management.Automation;
using PSContainerd.Engine;

namespace PSContainerd.Commands;

/// <summary>
/// <para type="synopsis">Shows which process holds the restart duty for a containerd socket and namespace on this host.</para>
/// <para type="description">Reads the kernel's lock table; writes nothing when no process holds the duty.</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "ContainerSupervisor")]
[OutputType(typeof(SupervisorInfo))]
public sealed class GetContainerSupervisorCommand : ContainerdCmdlet
{
    protected override void ProcessRecord()
    {
        // Only looks: creating this process's engine here would make it contend for the duty.
        var holder = ContainerEngine.SupervisorOf(ResolvedAddress, Namespace);
        if (holder is not { } h)
        {
            WriteVerbose($"No process holds the restart duty for namespace '{Namespace}' at '{ResolvedAddress}' (lock {ContainerEngine.SupervisorLockPath(ResolvedAddress, Namespace)}).");
            return;
        }

        WriteObject(SupervisorInfoOf(ResolvedAddress, Namespace, h.ProcessId, h.Since));
    }

    internal static SupervisorInfo SupervisorInfoOf(string address, string @namespace, int pid, DateTime? since) => new()
    {
        ProcessId = pid,
        Address = address,
        Namespace = @namespace,
        Since = since,
        IsCurrentProcess = pid == Environment.ProcessId,
        LockPath = ContainerEngine.SupervisorLockPath(address, @namespace),
    };
}
