using Newtonsoft.Json;
using Newtonsoft.Json.Converters;

namespace PSContainerd;

[JsonConverter(typeof(StringEnumConverter))]
public enum WaitCondition
{
    /// <summary>Returns at once for a container that is not running, with its recorded exit.</summary>
    NotRunning,
    /// <summary>Always waits for the next exit.</summary>
    NextExit,
    /// <summary>Waits until the container is deleted.</summary>
    Removed,
    /// <summary>Waits until the container runs and passes its readiness checks (log line, command, TCP port, signal handler).</summary>
    Ready,
}

/// <summary>What Wait-Container writes per container.</summary>
public sealed class WaitResult
{
    public string Id { get; init; } = string.Empty;

    /// <summary>The containerd namespace; binds -Namespace of the next cmdlet in a pipeline.</summary>
    public string Namespace { get; internal init; } = string.Empty;

    /// <summary>containerd's socket the container lives behind; binds -Address of the next cmdlet in a pipeline.</summary>
    public string Address { get; internal init; } = string.Empty;

    public WaitCondition Condition { get; init; }

    public int? ExitCode { get; init; }

    public DateTime? ExitedAt { get; init; }

    public bool OOMKilled { get; init; }

    public bool TimedOut { get; init; }

    public string? Error { get; init; }
}
