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

/// <summary>What a step of a stop was. <see cref="StopStep.Action"/> spells it as the timeline shows it (restart-cancelled, direct-kill, ...).</summary>
public enum StopStepKind
{
    Warning,
    Stop,
    Joined,
    RecordIntent,
    Signal,
    Refused,
    Resume,
    Timeout,
    Escalate,
    Kill,
    DirectKill,
    WaitRecord,
    Exited,
    AlreadyStopped,
    RestartCancelled,
    GaveUp,
    Error,

    /// <summary>The container was not managed (made by another tool): this stop took it over.</summary>
    Adopted,
}

/// <summary>Which way a signal went to the container's init process.</summary>
public enum SignalRoute
{
    /// <summary>Not a signal step.</summary>
    None,

    /// <summary><c>pidfd_send_signal</c> on a pidfd opened on the verified init process (no RPC, no <c>runc kill</c>).</summary>
    Pidfd,

    /// <summary>containerd's Tasks/Kill RPC (the shim runs <c>runc kill</c>): the fallback when no verified pidfd is held, and SIGKILL to every process.</summary>
    Containerd,
}

/// <summary>One entry of a stop's timeline: what was sent, waited for or observed, and when.</summary>
public sealed record StopStep(DateTime At, StopStepKind Kind, string Detail)
{
    /// <summary>For a signal step (signal, kill, direct-kill, refused): which way it went; None for every other step.</summary>
    public SignalRoute Route { get; init; }

    /// <summary>The kind as the timeline spells it: kebab-case (signal, kill, direct-kill, restart-cancelled, ...).</summary>
    public string Action => ActionOf(Kind);

    public static string ActionOf(StopStepKind kind) =>
        string.Concat(kind.ToString().Select((c, i) => i > 0 && char.IsUpper(c) ? "-" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));

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

    /// <summary>What the stop had to warn about (a garbage stop-signal or stop-timeout label, and what it used instead).</summary>
    public IReadOnlyList<string> Warnings => Steps.Where(s => s.Kind == StopStepKind.Warning).Select(s => s.Detail).ToList();

    public string? Error { get; init; }
}
