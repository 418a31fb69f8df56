namespace PSContainerd;

/// <summary>What Get-Container writes: containerd's record, its task, and the state the module recorded in labels.</summary>
public sealed class ContainerInfo
{
    public string Id { get; init; } = string.Empty;

    public string Namespace { get; init; } = string.Empty;

    /// <summary>containerd's socket the container lives behind; binds -Address of the next cmdlet in a pipeline.</summary>
    public string Address { get; internal set; } = string.Empty;

    public ContainerStatus Status { get; init; }

    /// <summary>The init process's pid on the host; null when there is no live task.</summary>
    public uint? Pid { get; init; }

    public int? ExitCode { get; init; }

    public DateTime? ExitedAt { get; init; }

    public bool OOMKilled { get; init; }

    public string? StopSignal { get; init; }

    public int? StopTimeout { get; init; }

    public string RestartPolicy { get; init; } = "no";

    public int RestartCount { get; init; }

    private readonly IReadOnlyDictionary<string, string> _labels = TextMap.None;

    public IReadOnlyDictionary<string, string> Labels { get => _labels; init => _labels = TextMap.Of(value); }

    public DateTime? CreatedAt { get; init; }

    public string Image { get; init; } = string.Empty;

    public override string ToString() => Id;
}
