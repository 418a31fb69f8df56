using System.Management.Automation;
using PSContainerd.Engine;

namespace PSContainerd.Commands;

/// <summary>
/// <para type="synopsis">Reconciles the state recorded in container labels with what containerd reports, after the module's process, containerd or the host restarted.</para>
/// <para type="description">For each container (all of the namespace, or -Id): a task that exited
/// is deleted and its exit recorded, then the restart policy applied; a container whose labels say
/// running but that has no task gets exit 255 (status unknown); a live task is watched again, or
/// stopped with -StopRunning; a stop interrupted by the death of its process is resumed where its
/// deadline says; a restart pending when its process died is carried out. Run twice, the second
/// run reports Unchanged.</para>
/// </summary>
[Cmdlet(VerbsData.Restore, "ContainerState", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(RestoreResult))]
public sealed class RestoreContainerStateCommand : ContainerdCmdlet
{
    private readonly List<string> _ids = new();
    private bool _idGiven;

    /// <summary>Containers to restore (exact id or unique prefix). Default: every container of the namespace.</summary>
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string[]? Id { get; set; }

    /// <summary>Stop live tasks through the normal stop flow instead of watching them again (dockerd without live-restore).</summary>
    [Parameter]
    public SwitchParameter StopRunning { get; set; }

    /// <summary>Act in a namespace another manager owns (moby, k8s.io).</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        if (Id is not null)
        {
            _idGiven = true;
            _ids.AddRange(Id);
        }
    }

    protected override void EndProcessing()
    {
        if (!CheckNamespace(Force))
        {
            return;
        }

        // Resolve first, off the pipeline thread; ShouldProcess must be asked on it.
        var targets = new List<string>();
        Pump(async ct =>
        {
            if (!_idGiven)
            {
                await CollectAsync(targets, async () => await Engine.ListIdsAsync(ct).ConfigureAwait(false), Address).ConfigureAwait(false);
                return;
            }

            foreach (var raw in _ids)
            {
                await CollectAsync(targets, async () => new[] { await Engine.ResolveAsync(raw, ct).ConfigureAwait(false) }, raw).ConfigureAwait(false);
            }
        });

        string action = StopRunning ? "Restore state, stopping a running task" : "Restore state";
        var approved = targets.Distinct(StringComparer.Ordinal)
            .Where(id => ShouldProcess($"container '{id}' in namespace '{Namespace}'", action))
            .ToList();
        if (approved.Count == 0)
        {
            return;
        }

        Pump(ct => RestoreAllAsync(approved, ct));
    }

    private async Task RestoreAllAsync(IReadOnlyList<string> ids, CancellationToken ct)
    {
        int done = 0;
        bool progress = ids.Count > 1;
        using var gate = new SemaphoreSlim(ContainerEngine.RestoreParallelism);
        await Task.WhenAll(ids.Select(async id =>
        {
            await gate.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                var result = await Engine.RestoreOneAsync(id, StopRunning, ct).ConfigureAwait(false);
                Emit(result);
                if (result.Stop is { Outcome: StopOutcome.Failed } failed)
                {
                    EmitError(ErrorRecords.StopFailed(failed));
                }
            }
            catch (ContainerLookupException) when (!_idGiven)
            {
                // Deleted since the namespace was listed: nothing to restore.
            }
            catch (Exception e) when (ErrorRecords.TryFrom(e, id, out var record))
            {
                EmitError(record);
            }
            finally
            {
                gate.Release();
                int n = Interlocked.Increment(ref done);
                if (progress)
                {
                    EmitProgress(new ProgressRecord(1, "Restore-ContainerState", $"{n} of {ids.Count} containers restored")
                    {
                        PercentComplete = n * 100 / ids.Count,
                        CurrentOperation = id,
                        RecordType = n == ids.Count ? ProgressRecordType.Completed : ProgressRecordType.Processing,
                    });
                }
            }
        })).ConfigureAwait(false);
    }

    private async Task CollectAsync(List<string> into, Func<Task<IReadOnlyList<string>>> find, string target)
    {
        try
        {
            into.AddRange(await find().ConfigureAwait(false));
        }
        catch (Exception e) when (ErrorRecords.TryFrom(e, target, out var record))
        {
            EmitError(record);
        }
    }
}
