using PSContainerd.Containerd;

namespace PSContainerd.Engine;

/// <summary>
/// An exit recorded as unknown (a hung shim, containerd#12678: 255 with a Detail) corrected once
/// the shim answers again with the real status. Part of <see cref="ExitRecorder"/>, on the
/// container's queue.
/// </summary>
internal sealed class ExitCorrection
{
    private readonly LabelStateStore _store;
    private readonly EngineEvents _events;
    private readonly string _namespace;
    private readonly TaskDeleter _deleter;
    private readonly Action<string, string> _diagnostic;

    public ExitCorrection(LabelStateStore store, EngineEvents events, string @namespace, TaskDeleter deleter, Action<string, string> diagnostic)
    {
        _store = store;
        _events = events;
        _namespace = @namespace;
        _deleter = deleter;
        _diagnostic = diagnostic;
    }

    /// <summary>
    /// The real status of an exit first recorded as unknown (255 with a Detail), reported later by
    /// the shim once it answers again (its /tasks/exit or /tasks/delete, or a task delete). Only the
    /// record changes: waiters were woken by the first record and are not woken again, and no
    /// restart policy is consulted (it already was, with the unknown exit).
    /// </summary>
    /// <param name="manages">Whether the exit may be written down (the module manages the container, in a namespace it manages).</param>
    public async Task CorrectAsync(ContainerState s, uint pid, ExitInfo exit, string source, bool manages)
    {
        if (manages)
        {
            // The task the hung shim kept: delete it now that the shim answers (NotFound: already gone).
            await _deleter.DeleteAsync(s.Id, retryUnavailable: false).ConfigureAwait(false);
        }

        var old = s.LastExit!;
        var corrected = new RecordedExit((int)exit.ExitStatus, exit.ExitedAt ?? old.ExitedAt, old.OomKilled);
        if (manages)
        {
            // The record first, then memory: a reader who sees the corrected exit here finds it in
            // the labels too. Nothing else changes this state meanwhile: this runs on its queue.
            try
            {
                s.RefreshLabels((await _store.RecordExitAsync(s.Id, corrected, leaveState: s.Status != ContainerStatus.Stopped).ConfigureAwait(false)).Labels);
            }
            catch (ContainerdException e)
            {
                _diagnostic(s.Id, $"could not record the corrected exit {corrected.ExitCode}: {e.Message}");
            }
        }

        if (!s.CorrectExit(pid, corrected))
        {
            return;
        }

        _diagnostic(s.Id, $"exit of pid {pid} recorded as {old.ExitCode} (unknown) corrected to {corrected.ExitCode} from {source}");
        _events.Publish(_namespace, s.Id, EventTypes.ExitCorrected, corrected.ExitedAt,
            ("ExitCode", corrected.ExitCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unknown"),
            ("Was", old.ExitCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unknown"),
            ("Source", source));
    }
}
