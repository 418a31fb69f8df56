using System.Management.Automation;
using PSContainerd.Engine;

namespace PSContainerd.Commands;

/// <summary>
/// The per-container runner every cmdlet and job goes through: the ids of a whole call are
/// resolved first (<see cref="ResolveAsync"/>), then the confirmed containers are acted on under
/// one throttle (<see cref="RunAsync"/>). Failures are per-container ErrorRecords.
/// </summary>
internal static class ContainerRunner
{
    /// <summary>
    /// The distinct containers the requests name, in the order asked, writing an error for each id
    /// that names none or several. Each (socket, namespace) is listed once per call; when it cannot
    /// be listed (containerd unreachable) one error is written and its ids are not tried.
    /// </summary>
    public static async Task<IReadOnlyList<ContainerTarget>> ResolveAsync(
        IEnumerable<ContainerRequest> requests, IOutputSink sink, bool emptyPatternIsError, CancellationToken ct)
    {
        var listed = new Dictionary<ContainerEngine, IReadOnlyList<string>?>();
        var targets = new List<ContainerTarget>();
        var seen = new HashSet<(ContainerEngine, string)>();
        foreach (var request in requests)
        {
            if (!listed.TryGetValue(request.Engine, out var ids))
            {
                try
                {
                    ids = await request.Engine.ListIdsAsync(ct).ConfigureAwait(false);
                }
                catch (Exception e) when (ErrorRecords.TryFrom(e, request.Engine.Address, out var record))
                {
                    sink.Error(record);
                    ids = null;
                }

                listed[request.Engine] = ids;
            }

            if (ids is null)
            {
                continue;
            }

            foreach (var raw in request.Ids ?? ids)
            {
                try
                {
                    foreach (var id in ContainerIdMatcher.Match(raw, ids, request.Engine.Where, emptyPatternIsError))
                    {
                        if (seen.Add((request.Engine, id)))
                        {
                            targets.Add(new ContainerTarget(request.Engine, id, request.Ids is null));
                        }
                    }
                }
                catch (Exception e) when (ErrorRecords.TryFrom(e, raw, out var record))
                {
                    sink.Error(record);
                }
            }
        }

        return targets;
    }

    /// <summary>
    /// Runs <paramref name="act"/> for each target, at most <paramref name="throttle"/> at once.
    /// A target still waiting for its turn when <paramref name="ct"/> is cancelled (Ctrl+C, a
    /// failure under -ErrorAction Stop, Stop-Job) is never started.
    /// </summary>
    public static async Task RunAsync(
        IReadOnlyList<ContainerTarget> targets, int throttle, Func<ContainerTarget, IOutputSink, CancellationToken, Task> act,
        IOutputSink sink, CancellationToken ct, string? activity = null)
    {
        using var gate = new SemaphoreSlim(Math.Max(1, throttle));
        int done = 0;
        await Task.WhenAll(targets.Select(async target =>
        {
            await gate.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                ct.ThrowIfCancellationRequested();
                await act(target, new TargetSink(sink, target.Engine), ct).ConfigureAwait(false);
            }
            catch (Exception e) when (ErrorRecords.TryFrom(e, target.Id, out var record))
            {
                sink.Error(record);
            }
            finally
            {
                gate.Release();
                int n = Interlocked.Increment(ref done);
                if (activity is not null && targets.Count > 1)
                {
                    sink.Progress(new ProgressRecord(1, activity, $"{n} of {targets.Count} done")
                    {
                        PercentComplete = n * 100 / targets.Count,
                        CurrentOperation = target.Id,
                        RecordType = n == targets.Count ? ProgressRecordType.Completed : ProgressRecordType.Processing,
                    });
                }
            }
        })).ConfigureAwait(false);
    }
}
