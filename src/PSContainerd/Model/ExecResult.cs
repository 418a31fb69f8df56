using Newtonsoft.Json;

namespace PSContainerd;

/// <summary>What Invoke-ContainerCommand writes per container: one extra process run to its end.</summary>
public sealed class ExecResult
{
    /// <summary>The container.</summary>
    public string Id { get; init; } = string.Empty;

    /// <summary>The containerd namespace; binds -Namespace of the next cmdlet in a pipeline.</summary>
    public string Namespace { get; init; } = string.Empty;

    /// <summary>containerd's socket the container lives behind; binds -Address of the next cmdlet in a pipeline.</summary>
    public string Address { get; init; } = string.Empty;

    /// <summary>The process's id in the task (never the container's id, which names the init process).</summary>
    public string ExecId { get; init; } = string.Empty;

    private readonly IReadOnlyList<string> _command = TextList<string>.None;

    /// <summary>The command line that ran.</summary>
    public IReadOnlyList<string> Command { get => _command; init => _command = TextList<string>.Of(value); }

    /// <summary>The exit status; 128+N for a process ended by signal N; null when its end was not seen.</summary>
    public int? ExitCode { get; init; }

    /// <summary>Everything the process wrote to stdout (up to the capture limit).</summary>
    public string Output { get; init; } = string.Empty;

    /// <summary>Everything the process wrote to stderr (up to the capture limit).</summary>
    public string Error { get; init; } = string.Empty;

    /// <summary>
    /// From the process's start to its exit (or to the end of the wait). Hidden from listings and
    /// the converters as StopResult.Duration is: they show <see cref="DurationMs"/>.
    /// </summary>
    [System.Management.Automation.Hidden]
    [JsonIgnore]
    public TimeSpan Duration { get; init; }

    /// <summary>From the process's start to its exit, in milliseconds: what logs, JSON and CSV carry.</summary>
    public double DurationMs => Math.Round(Duration.TotalMilliseconds, 1);

    /// <summary>The -Timeout ran out: the process was sent SIGKILL.</summary>
    public bool TimedOut { get; init; }
}
