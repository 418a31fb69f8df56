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

    /// <summary>The command line that ran.</summary>
    public string[] Command { get; init; } = Array.Empty<string>();

    /// <summary>The exit status; 128+N for a process ended by signal N; null when its end was not seen.</summary>
    public int? ExitCode { get; init; }

    /// <summary>Everything the process wrote to stdout (up to the capture limit).</summary>
    public string Output { get; init; } = string.Empty;

    /// <summary>Everything the process wrote to stderr (up to the capture limit).</summary>
    public string Error { get; init; } = string.Empty;

    /// <summary>From the process's start to its exit (or to the end of the wait).</summary>
    public TimeSpan Duration { get; init; }

    /// <summary>The -Timeout ran out: the process was sent SIGKILL.</summary>
    public bool TimedOut { get; init; }
}
