using System.Management.Automation;
using PSContainerd.Engine;

namespace PSContainerd.Commands;

/// <summary>
/// <para type="synopsis">Streams the lifecycle events the engine handles (Start, Exit, Oom, Paused, Resumed, Delete, Restart, ...).</para>
/// <para type="description">Events are written as they happen until -Timeout passes, -MaxEvents have been written, or Ctrl+C.</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "ContainerEvent")]
[OutputType(typeof(ContainerEvent))]
public sealed class GetContainerEventCommand : ContainerdCmdlet
{
    /// <summary>Only events of these containers (wildcards allowed).</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    public string[]? Id { get; set; }

    /// <summary>Only events of these types (Start, Exit, Stop, Kill, Oom, Paused, Resumed, Delete, Restart, Restarting, ExecExit, ExitCorrected, Create, Update).</summary>
    [Parameter]
    [SupportsWildcards]
    public string[]? Type { get; set; }

    /// <summary>Seconds to listen; -1 (default) listens until Ctrl+C or -MaxEvents.</summary>
    [Parameter]
    [ValidateRange(-1, int.MaxValue)]
    public int Timeout { get; set; } = -1;

    /// <summary>Stop after this many events.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int MaxEvents { get; set; } = int.MaxValue;

    private readonly List<string> _ids = new();

    protected override void ProcessRecord()
    {
        if (Id is not null)
        {
            _ids.AddRange(Id);
        }
    }

    protected override void EndProcessing()
    {
        var ids = _ids.Select(i => new WildcardPattern(i, WildcardOptions.IgnoreCase)).ToList();
        var types = (Type ?? Array.Empty<string>()).Select(t => new WildcardPattern(t, WildcardOptions.IgnoreCase)).ToList();
        Pump(async ct =>
        {
            using var timeout = Timeout < 0 ? new CancellationTokenSource() : new CancellationTokenSource(TimeSpan.FromSeconds(Timeout));
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
            var reader = Engine.Events.Subscribe();
            try
            {
                await Engine.WhenMonitoringAsync(linked.Token).ConfigureAwait(false);
                EmitVerbose($"Listening for events in namespace '{Namespace}' at '{Engine.Address}'.");
                int written = 0;
                await foreach (var ev in reader.ReadAllAsync(linked.Token).ConfigureAwait(false))
                {
                    if ((ids.Count == 0 || ids.Any(p => p.IsMatch(ev.Id))) && (types.Count == 0 || types.Any(p => p.IsMatch(ev.Type))))
                    {
                        Emit(ev);
                        if (++written >= MaxEvents)
                        {
                            break;
                        }
                    }
                }
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested && !ct.IsCancellationRequested)
            {
                // -Timeout reached: a normal end.
            }
            catch (Exception e) when (ErrorRecords.TryFrom(e, Address, out var record))
            {
                EmitError(record);
            }
            finally
            {
                Engine.Events.Unsubscribe(reader);
            }
        });
    }
}
