using System.Management.Automation;
using PSContainerd.Engine;

namespace PSContainerd.Commands;

/// <summary>
/// <para type="synopsis">Waits for containers to stop, exit again, or be removed, like docker wait.</para>
/// <para type="description">NotRunning returns at once for a container that is not running, with its recorded exit (also when something else stopped it). NextExit always waits for the next exit. Removed waits for deletion.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Wait, "Container")]
[OutputType(typeof(WaitResult))]
public sealed class WaitContainerCommand : ContainerdCmdlet
{
    private readonly List<(ContainerEngine Engine, string Id)> _ids = new();

    /// <summary>Container ids, or unique prefixes of them.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [AllowEmptyString]
    [Alias("ContainerId")]
    public string[] Id { get; set; } = Array.Empty<string>();

    /// <summary>NotRunning (default), NextExit or Removed.</summary>
    [Parameter]
    public WaitCondition Condition { get; set; } = WaitCondition.NotRunning;

    /// <summary>Seconds to wait; -1 (default) waits for ever. A container still waiting then gives a result with TimedOut.</summary>
    [Parameter]
    [ValidateRange(-1, int.MaxValue)]
    public int Timeout { get; set; } = -1;

    /// <summary>Returns when the first of the containers meets the condition.</summary>
    [Parameter]
    public SwitchParameter Any { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var raw in Id)
        {
            if (string.IsNullOrWhiteSpace(raw))
            {
                WriteError(ErrorRecords.EmptyContainerId());
                continue;
            }

            _ids.Add((Engine, raw));
        }
    }

    protected override void EndProcessing()
    {
        if (_ids.Count == 0)
        {
            return;
        }

        TimeSpan? timeout = Timeout < 0 ? null : TimeSpan.FromSeconds(Timeout);
        Pump(async ct =>
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct);
            int met = 0;
            var timedOut = new System.Collections.Concurrent.ConcurrentQueue<WaitResult>();
            var waits = _ids.Select(item => OneAsync(item.Engine, item.Id, async (id, token) =>
            {
                var r = await item.Engine.WaitAsync(id, Condition, timeout, token).ConfigureAwait(false);
                if (!Any)
                {
                    Emit(r);
                }
                else if (r.TimedOut)
                {
                    timedOut.Enqueue(r);
                }
                else if (Interlocked.Increment(ref met) == 1)
                {
                    // -Any: the first container to meet the condition is the answer; the rest stop waiting.
                    Emit(r);
                    linked.Cancel();
                }
            }, linked.Token)).ToList();

            try
            {
                await Task.WhenAll(waits).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (Any && !ct.IsCancellationRequested)
            {
            }

            if (Any && met == 0)
            {
                foreach (var r in timedOut)
                {
                    Emit(r);
                }
            }
        });
    }
}
