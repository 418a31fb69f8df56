namespace PSContainerd.Engine;

/// <summary>Which network namespace a new container's processes live in.</summary>
public enum ContainerNetwork
{
    /// <summary>A namespace of its own with only loopback (docker's --network none): the default.</summary>
    None,

    /// <summary>The host's own (docker's --network host): its ports are the host's, reachable from the host and beyond.</summary>
    Host,
}

/// <summary>The network part of a New-Container request.</summary>
public sealed partial record NewContainerRequest
{
    public ContainerNetwork Network { get; init; }
}
