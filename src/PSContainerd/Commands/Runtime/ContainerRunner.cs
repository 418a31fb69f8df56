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
    /// that names none or several. An exact id is looked up by itself (the engine's tracked state,
    /// else one Containers.Get): a namespace is listed only for wildcards, hex id prefixes and
    /// requests with no ids, once per call. When containerd cannot be reached one error is written
    /// for the (socket, namespace) and its other ids are not tried.
    /// </summary>
    public static async Task<IReadOnlyList<ContainerTarget>> ResolveAsync(
        IEnumerable<ContainerRequest> requests, IOutputSink sink, bool emptyPatternIsError, CancellationToken ct)
    {
        var listed = new Dictionary<ContainerEngine, IReadOnlyList<string>>();
        var unreachable = new HashSet<ContainerEngine>();
        var targets = new List<ContainerTarget>();
        var seen = new HashSet<(ContainerEngine, string)>();
        foreach (var request in requests)
        {
            var engine = request.Engine;
            foreach (string? raw in (IEnumerable<string?>?)request.Ids ?? new string?[] { null })
            {
                if (unreachable.Contains(engine))
                {
                    break;
                }

                IReadOnlyList<string> matched;
                try
                {
                    if (raw is not null && !ContainerIdMatcher.IsPattern(raw) && !string.IsNullOrWhiteSpace(raw) && await engine.ExistsAsync(raw, ct).ConfigureAwait(false))
                    {
                        matched = new[] { raw };
                    }
                    else if (raw is not null && !ContainerIdMatcher.NeedsList(raw))
                    {
                        matched = ContainerIdMatcher.Match(raw, Array.Empty<string>(), engine.Where, emptyPatternIsError); // names nothing: the error
                    }
                    else
                    {
                        if (!listed.TryGetValue(engine, out var ids))
                        {
                            listed[engine] = ids = await engine.ListIdsAsync(ct).ConfigureAwait(false);
                        }

                        matched = raw is null ? ids : ContainerIdMatcher.Match(raw, ids, engine.Where, emptyPatternIsError);
                    }
                }
                catch (Containerd.ContainerdException e) when (ErrorRecords.TryFrom(e, engine.Address, out var record))
                {
                    sink.Error(record);
                    unreachable.Add(engine);
                    break;
                }
                catch (Exception e) when (ErrorRecords.TryFrom(e, raw ?? engine.Address, out var record))
                {
                    sink.Error(record);
                    continue;
                }

                foreach (var id in matched)
                {
                    if (seen.Add((engine, id)))
                    {
                        targets.Add(new ContainerTarget(engine, id, request.Ids is null));
                    }
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
                await act(target, sink, ct).ConfigureAwait(false);
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
