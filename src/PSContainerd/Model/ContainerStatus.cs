namespace PSContainerd;

/// <summary>A container's status as the module reports it.</summary>
public enum ContainerStatus
{
    Unknown,
    Created,
    Running,
    Paused,
    Stopped,
    Restarting,
}
