namespace PSContainerd;

public enum StopOutcome
{
    Stopped,
    AlreadyStopped,
    RestartCancelled,
    Failed,
}

public enum StopEscalation
{
    None,
    Kill,
    DirectKill,
}

/// <summary>One entry of a stop's timeline: what was sent, waited for or observed, and when.</summary>
public sealed record StopStep(DateTime At, string Action, string Detail)
{
    public override string ToString() => $"{At:HH:mm:ss.fff} {Action} {Detail}";
}

/// <summary>What Stop-Container writes per container. <see cref="Steps"/> is the whole timeline.</summary>
public sealed class StopResult
{
    public string Id { get; init; } = string.Empty;

    public string Namespace { get; init; } = string.Empty;

    /// <summary>containerd's socket the container lives behind; binds -Address of the next cmdlet in a pipeline.</summary>
    public string Address { get; internal set; } = string.Empty;

    public StopOutcome Outcome { get; init; }

    public string Signal { get; init; } = "SIGTERM";

    /// <summary>Seconds of grace given; -1 means never forced.</summary>
    public int Timeout { get; init; }

    public StopEscalation Escalation { get; init; }

    public int? ExitCode { get; init; }

    public DateTime? ExitedAt { get; init; }

    public bool OOMKilled { get; init; }

    public TimeSpan Duration { get; init; }

    public IReadOnlyList<StopStep> Steps { get; init; } = Array.Empty<StopStep>();

    public string? Error { get; init; }
}
