using System.Management.Automation;
using PSContainerd.Engine;

namespace PSContainerd.Commands;

/// <summary>
/// <para type="synopsis">Stops containers: stop signal, grace period, SIGKILL, direct kill; records the exit.</para>
/// <para type="description">dockerd's stop flow, bounded at every step. Many containers are stopped concurrently; results are written as each finishes.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Stop, "Container", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(StopResult))]
[OutputType(typeof(Job))]
public sealed class StopContainerCommand : ContainerdCmdlet
{
    private readonly List<(ContainerEngine Engine, string Id)> _ids = new();
    private SemaphoreSlim? _throttle;
    private int? _signal;
    private int _started;
    private int _finished;

    /// <summary>Container ids, or unique prefixes of them.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [AllowEmptyString]
    [Alias("ContainerId")]
    public string[] Id { get; set; } = Array.Empty<string>();

    /// <summary>Seconds to wait after the stop signal before SIGKILL. -1 never forces; 0 kills at once. Default: the container's stop timeout, else 10.</summary>
    [Parameter]
    [ValidateRange(-1, int.MaxValue)]
    public int Timeout { get; set; }

    /// <summary>The stop signal (SIGINT, INT or a number). Default: the container's stop signal, else SIGTERM.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Signal { get; set; }

    /// <summary>How many containers are stopped at once.</summary>
    [Parameter]
    [ValidateRange(1, 1024)]
    public int ThrottleLimit { get; set; } = 16;

    /// <summary>Returns a job at once; its output is the StopResults.</summary>
    [Parameter]
    public SwitchParameter AsJob { get; set; }

    /// <summary>Acts in a namespace owned by another manager (moby, k8s.io).</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void BeginProcessing()
    {
        if (Signal is not null)
        {
            if (!Signals.TryParse(Signal, out var s))
            {
                ThrowTerminatingError(ErrorRecords.InvalidSignal(Signal));
            }

            _signal = s;
        }

        _throttle = new SemaphoreSlim(ThrottleLimit);
    }

    protected override void ProcessRecord()
    {
        if (!CheckNamespace(Force))
        {
            return; // the error was written; nothing is stopped
        }

        var engine = Engine; // this item's namespace, fixed before the next item rebinds it

        foreach (var raw in Id)
        {
            if (string.IsNullOrWhiteSpace(raw))
            {
                WriteError(ErrorRecords.EmptyContainerId());
                continue;
            }

            if (!ShouldProcess(raw, "Stop container"))
            {
                continue;
            }

            if (AsJob)
            {
                _ids.Add((engine, raw));
                continue;
            }

            _started++;
            StartWork(ct => StopOneAsync(engine, raw, ct));
        }

        DrainAvailable();
    }

    protected override void EndProcessing()
    {
        if (AsJob)
        {
            if (_ids.Count > 0)
            {
                var job = new StopContainerJob(_ids, _signal, TimeoutOrNull, ThrottleLimit, MyInvocation.Line);
                JobRepository.Add(job);
                job.Start();
                WriteObject(job);
            }

            return;
        }

        DrainUntilDone();
        WriteProgress(new ProgressRecord(1, "Stopping containers", "done") { RecordType = ProgressRecordType.Completed });
    }

    private int? TimeoutOrNull => MyInvocation.BoundParameters.ContainsKey(nameof(Timeout)) ? Timeout : null;

    private async Task StopOneAsync(ContainerEngine engine, string raw, CancellationToken ct)
    {
        await _throttle!.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            await OneAsync(engine, raw, async (id, token) =>
            {
                var result = await engine.StopAsync(id, _signal, TimeoutOrNull, step => EmitVerbose($"{id}: {step.Action}: {step.Detail}"), token).ConfigureAwait(false);
                foreach (var w in result.Steps.Where(s => s.Action == "warning"))
                {
                    EmitWarning($"{id}: {w.Detail}");
                }

                Emit(result);
                foreach (var error in ErrorRecords.ForStop(result))
                {
                    EmitError(error);
                }
            }, ct).ConfigureAwait(false);
        }
        finally
        {
            _throttle.Release();
            int done = Interlocked.Increment(ref _finished);
            int total = Math.Max(_started, done);
            EmitProgress(new ProgressRecord(1, "Stopping containers", $"{done} of {total} done") { PercentComplete = Math.Min(100, done * 100 / total) });
        }
    }
}
