namespace PSContainerd;

/// <summary>
/// A line of a container's log, as Get-ContainerLog writes it when it reads several containers:
/// which container wrote it, and when, if known.
/// </summary>
public sealed class LogLine
{
    public string Id { get; init; } = string.Empty;

    public string Namespace { get; init; } = string.Empty;

    /// <summary>containerd's socket the container lives behind; binds -Address of the next cmdlet in a pipeline.</summary>
    public string Address { get; init; } = string.Empty;

    /// <summary>
    /// When the line was written (UTC), as seen by a -Wait that read it within a fraction of a
    /// second; null for a line already in the file when the call began (the file keeps no times).
    /// </summary>
    public DateTime? Time { get; init; }

    public string Line { get; init; } = string.Empty;

    public override string ToString() => Line;
}
