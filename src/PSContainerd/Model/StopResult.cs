using Newtonsoft.Json;
using Newtonsoft.Json.Converters;

namespace PSContainerd;

// Every enum of a result: ConvertTo-Json writes its name, as the types file does for remoting.
[JsonConverter(typeof(StringEnumConverter))]
public enum StopOutcome
{
    Stopped,
    AlreadyStopped,
    RestartCancelled,
    Failed,
}

/// <summary>
/// What a stop waited for after the exit was recorded: containerd's confirmation that the task is
/// deleted, by its <c>/tasks/delete</c> event or the Tasks/Delete reply, whichever came first.
/// </summary>
[JsonConverter(typeof(StringEnumConverter))]
public enum DeleteConfirmation
{
    /// <summary>No delete waited for: no exit seen, or none of this stop's to delete (a container the module does not manage, or a task another process deleted).</summary>
    None,

    /// <summary>containerd's <c>/tasks/delete</c> event: the shim has flushed the output, run <c>runc delete</c> and unmounted; the reply (the shim's own exit) followed on the container's queue.</summary>
    Event,

    /// <summary>The Tasks/Delete reply, before its event reached the module.</summary>
    Reply,
}

[JsonConverter(typeof(StringEnumConverter))]
public enum StopEscalation
{
    None,
    Kill,
    DirectKill,
}

/// <summary>What a step of a stop was. <see cref="StopStep.Action"/> spells it as the timeline shows it (restart-cancelled, direct-kill, ...).</summary>
[JsonConverter(typeof(StringEnumConverter))]
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
[JsonConverter(typeof(StringEnumConverter))]
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
    public string Address { get; internal init; } = string.Empty;

    public StopOutcome Outcome { get; init; }

    /// <summary>The stop signal sent; null when none was (AlreadyStopped, RestartCancelled).</summary>
    public string? Signal { get; init; }

    /// <summary>Seconds of grace given; -1 means never forced; null when no signal was sent (AlreadyStopped, RestartCancelled).</summary>
    public int? Timeout { get; init; }

    public StopEscalation Escalation { get; init; }

    public int? ExitCode { get; init; }

    /// <summary>
    /// What the stop waited for before it returned, once the exit was recorded: containerd's
    /// <c>/tasks/delete</c> event (<see cref="DeleteConfirmation.Event"/>) or the Tasks/Delete
    /// reply (<see cref="DeleteConfirmation.Reply"/>), whichever came first; None when there was no
    /// delete to wait for. The rest of the delete is still awaited before any later operation on
    /// the container in this session.
    /// </summary>
    public DeleteConfirmation DeleteConfirmedBy { get; init; }

    public DateTime? ExitedAt { get; init; }

    public bool OOMKilled { get; init; }

    /// <summary>
    /// How long the stop took. Hidden from listings, ConvertTo-Json and ConvertTo-Csv, which would
    /// write a TimeSpan as its 15 fields or as text no tool reads: they show <see cref="DurationMs"/>.
    /// `$r.Duration.TotalSeconds` works as before, and remoting still carries it as a TimeSpan.
    /// </summary>
    [System.Management.Automation.Hidden]
    [JsonIgnore]
    public TimeSpan Duration { get; init; }

    /// <summary>How long the stop took, in milliseconds: what logs, JSON and CSV carry.</summary>
    public double DurationMs => Math.Round(Duration.TotalMilliseconds, 1);

    /// <summary>
    /// Whether the container's init process had a handler for the stop signal when it was sent
    /// (its SigCgt mask). False: the kernel drops the signal for a pid namespace's init, and the stop
    /// escalates once the grace period runs out. Null when no signal was sent or /proc did not say.
    /// </summary>
    public bool? SignalHandled { get; init; }

    /// <summary>
    /// From the stop signal's delivery to the exit; null when no signal was sent or no exit seen.
    /// Hidden from listings and the converters as <see cref="Duration"/> is: they show <see cref="TimeToExitMs"/>.
    /// </summary>
    [System.Management.Automation.Hidden]
    [JsonIgnore]
    public TimeSpan? TimeToExit { get; init; }

    /// <summary>From the stop signal's delivery to the exit, in milliseconds; null as <see cref="TimeToExit"/>.</summary>
    public double? TimeToExitMs => TimeToExit is TimeSpan t ? Math.Round(t.TotalMilliseconds, 1) : null;

    private readonly IReadOnlyList<StopStep> _steps = TextList<StopStep>.None;

    public IReadOnlyList<StopStep> Steps { get => _steps; init => _steps = TextList<StopStep>.Of(value); }

    /// <summary>What the stop had to warn about (a garbage stop-signal or stop-timeout label, and what it used instead).</summary>
    public IReadOnlyList<string> Warnings => TextList<string>.Of(Steps.Where(s => s.Kind == StopStepKind.Warning).Select(s => s.Detail));

    public string? Error { get; init; }

    public override string ToString() =>
        $"{Id}: {Outcome}{(Escalation == StopEscalation.None ? string.Empty : $" ({Escalation})")}{(ExitCode is int c ? $", exit code {c}" : string.Empty)}, {DurationMs:0} ms";
}
