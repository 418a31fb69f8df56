using PSContainerd.Containerd;

namespace PSContainerd.Engine;

/// <summary>
/// A stop's intent label when containerd is slow or hung: the signal does not wait for it (the
/// pidfd needs no containerd), and an intent that lands late never outlives the stop it was for.
/// </summary>
internal sealed partial class StopOperation
{
    /// <summary>
    /// How long the first signal waits for the intent write. A write takes milliseconds; one that
    /// takes longer is a containerd that is hung or overloaded, and a stop must not fail with
    /// nothing sent because of it (the write goes on and lands when containerd answers).
    /// </summary>
    internal static readonly TimeSpan IntentPatience = TimeSpan.FromSeconds(1);

    /// <summary>How long a stale intent is retried away while containerd does not answer.</summary>
    internal static readonly TimeSpan RetractBound = TimeSpan.FromMinutes(2);

    private Task<ContainerRecord>? _intentWrite;
    private string? _intentText;
    private volatile bool _sent;

    /// <summary>
    /// Writes the intent (on the container's queue); true when it is recorded. When containerd has
    /// not answered within <see cref="IntentPatience"/>, or answered that it is unavailable, the
    /// stop goes on: the write keeps the container's queue until it ends (so no transition of this
    /// container passes it), and what it leaves is settled when the stop ends.
    /// </summary>
    private async Task<bool> RecordIntentAsync(StopIntent intent)
    {
        _intentText = intent.ToString();
        // the labels decide what else the write carries: the module's adoption of a container it did
        // not make, and the hold on containerd's own restart monitor
        var write = _intentWrite = _parts.Store.RecordStopIntentAsync(_state.Id, intent, _state.Labels);
        try
        {
            await write.WaitAsync(IntentPatience).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            AddStep(StopStepKind.Warning, $"containerd did not record the stop's intent within {IntentPatience.TotalSeconds:0} s; signalling without waiting for it (it is recorded when containerd answers)");
            _ = _state.Enqueue(() => AfterLateIntentAsync(write));
            return false;
        }
        catch (ContainerdException e) when (SignalRouter.MayHaveBeenDelivered(e))
        {
            // The write may still land once containerd answers: settled when the stop ends.
            AddStep(StopStepKind.Warning, $"the stop's intent could not be recorded ({e.Kind}: {e.Message}); signalling without it");
            return false;
        }

        _state.RefreshLabels(write.Result.Labels);
        return true;
    }

    /// <summary>On the queue: the late intent write ends; one that lands after the exit was recorded is taken back.</summary>
    private async Task AfterLateIntentAsync(Task<ContainerRecord> write)
    {
        try
        {
            var rec = await write.ConfigureAwait(false);
            if (_state.IsLive)
            {
                _state.RefreshLabels(rec.Labels);
                AddStep(StopStepKind.RecordIntent, "recorded late, once containerd answered");
                return;
            }
        }
        catch (ContainerdException)
        {
            // Not recorded, or not known to be: settled when the stop ends.
            return;
        }

        _ = RetractIntentAsync();
    }

    /// <summary>
    /// When the stop has ended: an intent is left only for a stop that sent a signal and failed
    /// (a later stop or restore finishes it). One for a stop that failed with nothing sent, or
    /// one whose write was not known to have landed before the stop ended, is taken back.
    /// </summary>
    private void SettleIntent(StopResult result)
    {
        if (_intentWrite is null)
        {
            return;
        }

        bool keep = result.Outcome == StopOutcome.Failed ? _sent : _intentWrite.IsCompletedSuccessfully;
        if (!keep)
        {
            _ = RetractIntentAsync();
        }
    }

    /// <summary>
    /// Clears this stop's intent label once containerd answers, if it is still this stop's (the
    /// read and the write on the container's queue, so a newer stop's intent is left alone).
    /// Retried while containerd does not answer, within <see cref="RetractBound"/>.
    /// </summary>
    private async Task RetractIntentAsync()
    {
        var until = DateTime.UtcNow + RetractBound;
        var pause = TimeSpan.FromMilliseconds(200);
        while (true)
        {
            try
            {
                await _state.Enqueue(async () =>
                {
                    var rec = await _parts.Client.GetContainerAsync(_state.Id).ConfigureAwait(false);
                    if (rec.Labels.Get(StateLabels.StopIntent) == _intentText)
                    {
                        _state.RefreshLabels((await _parts.Store.Write(_state.Id, CancellationToken.None, (StateLabels.StopIntent, null)).ConfigureAwait(false)).Labels);
                    }
                }).ConfigureAwait(false);
                return;
            }
            catch (ContainerdException e) when (e.Kind != ContainerdErrorKind.NotFound && DateTime.UtcNow < until)
            {
                await Task.Delay(pause).ConfigureAwait(false);
                pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
            }
            catch (ContainerdException)
            {
                return; // removed, or containerd did not answer for the whole bound
            }
        }
    }
}
