using Newtonsoft.Json;
using Newtonsoft.Json.Converters;

namespace PSContainerd;

[JsonConverter(typeof(StringEnumConverter))]
public enum RestoreAction
{
    Unchanged,
    Reattached,
    RecordedExit,
    Restarted,
    Stopped,
    ResumedStop,
}

/// <summary>What Restore-ContainerState writes per container.</summary>
public sealed record RestoreResult
{
    public string Id { get; init; } = string.Empty;

    /// <summary>The containerd namespace; binds -Namespace of the next cmdlet in a pipeline.</summary>
    public string Namespace { get; internal init; } = string.Empty;

    /// <summary>containerd's socket the container lives behind; binds -Address of the next cmdlet in a pipeline.</summary>
    public string Address { get; internal init; } = string.Empty;

    /// <summary>What containerd reported for the task ("None" when there was no task).</summary>
    public string TaskStatus { get; init; } = "None";

    public RestoreAction Action { get; init; }

    public int? ExitCode { get; init; }

    public string Detail { get; init; } = string.Empty;

    /// <summary>The StopResult of the stop restore ran (Stopped, ResumedStop), with its steps; null otherwise.</summary>
    public StopResult? Stop { get; init; }
}
