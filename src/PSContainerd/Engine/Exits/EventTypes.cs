namespace PSContainerd.Engine;

/// <summary>The values of <see cref="ContainerEvent.Type"/> the engine publishes, in one place (Get-ContainerEvent -Type completes from these).</summary>
public static class EventTypes
{
    public const string Create = "Create";
    public const string Update = "Update";
    public const string Start = "Start";
    public const string Exit = "Exit";
    public const string ExitCorrected = "ExitCorrected";
    public const string ExecExit = "ExecExit";
    public const string Kill = "Kill";
    public const string Stop = "Stop";
    public const string Oom = "Oom";
    public const string Paused = "Paused";
    public const string Resumed = "Resumed";
    public const string Delete = "Delete";
    public const string Restart = "Restart";
    public const string Restarting = "Restarting";

    /// <summary>A failure of background work (a label write, a restart, a resync) that has no caller to report to; Attributes["Message"] says what.</summary>
    public const string Diagnostic = "Diagnostic";

    /// <summary>This engine took the restart duty for its (socket, namespace).</summary>
    public const string SupervisorAcquired = "SupervisorAcquired";

    public static readonly IReadOnlyList<string> All = new[]
    {
        Create, Update, Start, Exit, ExitCorrected, ExecExit, Kill, Stop, Oom, Paused, Resumed, Delete, Restart, Restarting, Diagnostic, SupervisorAcquired,
    };
}
