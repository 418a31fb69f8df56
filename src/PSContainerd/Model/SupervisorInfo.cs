namespace PSContainerd;

/// <summary>
/// Who holds the restart duty for one (socket, namespace) on this host: the one process whose
/// engine restarts containers by their restart policy. What Get-ContainerSupervisor writes.
/// </summary>
public sealed class SupervisorInfo
{
    /// <summary>The holder's process id, as the kernel's lock table (/proc/locks) names it.</summary>
    public int ProcessId { get; init; }

    /// <summary>containerd's socket.</summary>
    public string Address { get; init; } = string.Empty;

    public string Namespace { get; init; } = string.Empty;

    /// <summary>Since when (UTC) the holder has the duty; null when it left no note saying so.</summary>
    public DateTime? Since { get; init; }

    /// <summary>Whether the holder is this PowerShell process.</summary>
    public bool IsCurrentProcess { get; init; }

    /// <summary>The lock file whose exclusive flock is the duty.</summary>
    public string LockPath { get; init; } = string.Empty;

    /// <summary>
    /// Whether the holder renewed its heartbeat (every second) within the last 5 s: false when it
    /// is stopped or frozen (it still holds the duty, and restarts wait for it); null when this
    /// user cannot read the heartbeat (no access to the socket's group) or the holder writes none.
    /// </summary>
    public bool? Responding { get; init; }

    public override string ToString() => $"{Namespace} at {Address}: process {ProcessId}{(IsCurrentProcess ? " (this one)" : string.Empty)}{(Responding == false ? " (not responding)" : string.Empty)}";
}
