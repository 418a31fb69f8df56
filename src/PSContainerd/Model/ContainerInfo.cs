namespace PSContainerd;

/// <summary>What Get-Container writes: containerd's record, its task, and the state the module recorded in labels.</summary>
public sealed class ContainerInfo
{
    public string Id { get; init; } = string.Empty;

    public string Namespace { get; init; } = string.Empty;

    /// <summary>containerd's socket the container lives behind; binds -Address of the next cmdlet in a pipeline.</summary>
    public string Address { get; internal init; } = string.Empty;

    public ContainerStatus Status { get; init; }

    /// <summary>The init process's pid on the host; null when there is no live task.</summary>
    public uint? Pid { get; init; }

    public int? ExitCode { get; init; }

    public DateTime? ExitedAt { get; init; }

    public bool OOMKilled { get; init; }

    public string? StopSignal { get; init; }

    public int? StopTimeout { get; init; }

    public string RestartPolicy { get; init; } = "no";

    /// <summary>
    /// Who applies <see cref="RestartPolicy"/>: <c>PSContainerd</c> (its restart supervisor), or
    /// <c>containerd</c> (containerd's restart monitor, for a container with its
    /// <c>containerd.io/restart.*</c> labels: the module's supervisor leaves it alone).
    /// </summary>
    public string RestartPolicySource { get; init; } = "PSContainerd";

    public int RestartCount { get; init; }

    private readonly IReadOnlyDictionary<string, string> _labels = TextMap.None;

    public IReadOnlyDictionary<string, string> Labels { get => _labels; init => _labels = TextMap.Of(value); }

    public DateTime? CreatedAt { get; init; }

    public string Image { get; init; } = string.Empty;

    /// <summary>
    /// The container carries the module's labels (made by New-Container, or adopted): the module
    /// records its state. Others are only read until a state verb or Restore-ContainerState -Adopt
    /// takes them over.
    /// </summary>
    public bool Managed { get; init; }

    /// <summary>When a container the module did not make was taken over; null for one New-Container made, or not managed.</summary>
    public DateTime? AdoptedAt { get; init; }

    public override string ToString() => Id;
}
