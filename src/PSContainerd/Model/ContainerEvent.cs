namespace PSContainerd;

/// <summary>A lifecycle event the engine handled (Start, Exit, Kill, Stop, Oom, Paused, Resumed, Delete, Restart, ...).</summary>
public sealed class ContainerEvent
{
    public DateTime Time { get; init; }

    public string Id { get; init; } = string.Empty;

    public string Namespace { get; init; } = string.Empty;

    /// <summary>containerd's socket the container lives behind; binds -Address of the next cmdlet in a pipeline.</summary>
    public string Address { get; internal set; } = string.Empty;

    public string Type { get; init; } = string.Empty;

    private readonly IReadOnlyDictionary<string, string> _attributes = TextMap.None;

    public IReadOnlyDictionary<string, string> Attributes { get => _attributes; init => _attributes = TextMap.Of(value); }

    public override string ToString() => $"{Time:O} {Type} {Id}";
}
