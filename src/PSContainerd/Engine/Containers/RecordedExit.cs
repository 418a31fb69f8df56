namespace PSContainerd.Engine;

/// <summary>An exit as the module records it: code, time, and whether the kernel's OOM killer was involved.</summary>
public sealed record RecordedExit(int? ExitCode, DateTime? ExitedAt, bool OomKilled, string? Detail = null)
{
    /// <summary>What confirmed the task's delete when this exit was handed to waiters (never a label).</summary>
    public DeleteConfirmation DeleteConfirmedBy { get; init; }

    public static RecordedExit? FromLabels(IReadOnlyDictionary<string, string> labels)
    {
        var code = StateLabels.ParseInt(labels.Get(StateLabels.ExitCode));
        if (code is null)
        {
            return null;
        }

        return new RecordedExit(code, StateLabels.ParseTime(labels.Get(StateLabels.ExitedAt)), labels.Get(StateLabels.OomKilled) == "true");
    }
}
