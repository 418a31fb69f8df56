using System.Management.Automation;
using PSContainerd.Engine;

namespace PSContainerd.Commands;

/// <summary>
/// <para type="synopsis">Shows which process holds the restart duty for a containerd socket and namespace on this host.</para>
/// <para type="description">Reads the kernel's lock table; writes nothing when no process holds the duty, and an error when the lock folder is not safe to use.</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "ContainerSupervisor")]
[OutputType(typeof(SupervisorInfo))]
public sealed class GetContainerSupervisorCommand : ContainerdCmdlet
{
    protected override void ProcessRecord()
    {
        // Only looks: creating this process's engine here would make it contend for the duty.
        var look = ContainerEngine.LookAtSupervisor(ResolvedAddress, Namespace);
        if (look.UnsafeFolder)
        {
            WriteError(ErrorRecords.UnsafeLockFolder(look.Problem!, look.LockPath ?? ResolvedAddress));
            return;
        }

        if (look.Holder is not { } h)
        {
            WriteVerbose($"No process holds the restart duty for namespace '{Namespace}' at '{ResolvedAddress}' ({(look.Problem is { } p ? p : $"lock {look.LockPath}")}).");
            return;
        }

        WriteObject(SupervisorInfoOf(ResolvedAddress, Namespace, h.ProcessId, h.Since, h.LockPath, h.Responding));
    }

    internal static SupervisorInfo SupervisorInfoOf(string address, string @namespace, int pid, DateTime? since, string? lockPath, bool? responding) => new()
    {
        ProcessId = pid,
        Address = address,
        Namespace = @namespace,
        Since = since,
        IsCurrentProcess = pid == Environment.ProcessId,
        LockPath = lockPath ?? string.Empty,
        Responding = responding,
    };
}
