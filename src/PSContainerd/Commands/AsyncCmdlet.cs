using System.Collections.Concurrent;
using System.Management.Automation;

namespace PSContainerd.Commands;

/// <summary>
/// Runs async engine work off the pipeline thread and pumps what it produces (objects, errors,
/// verbose lines, warnings, progress) back onto it, since PowerShell accepts output only there.
/// Ctrl+C (StopProcessing) cancels the token and ends the pump at once; engine work that was
/// started keeps going in the background.
/// </summary>
public abstract class AsyncCmdlet : PSCmdlet, IDisposable
{
    private readonly CancellationTokenSource _cancel = new();
    private BlockingCollection<Action>? _queue;

    protected CancellationToken Cancellation => _cancel.Token;

    /// <summary>Runs <paramref name="work"/> and pumps its output until it ends or the user presses Ctrl+C.</summary>
    protected void Pump(Func<CancellationToken, Task> work)
    {
        using var queue = new BlockingCollection<Action>();
        _queue = queue;
        var task = Task.Run(async () =>
        {
            try
            {
                await work(_cancel.Token).ConfigureAwait(false);
            }
            finally
            {
                queue.CompleteAdding();
            }
        });

        try
        {
            foreach (var action in queue.GetConsumingEnumerable(_cancel.Token))
            {
                action();
            }
        }
        catch (OperationCanceledException) when (_cancel.IsCancellationRequested)
        {
            throw new PipelineStoppedException();
        }
        finally
        {
            _queue = null;
        }

        try
        {
            task.GetAwaiter().GetResult();
        }
        catch (OperationCanceledException) when (_cancel.IsCancellationRequested)
        {
            throw new PipelineStoppedException();
        }
    }

    protected void Emit(object value) => Post(() => WriteObject(value));

    protected void EmitError(ErrorRecord record) => Post(() => WriteError(record));

    protected void EmitVerbose(string text) => Post(() => WriteVerbose(text));

    protected void EmitWarning(string text) => Post(() => WriteWarning(text));

    protected void EmitProgress(ProgressRecord record) => Post(() => WriteProgress(record));

    protected override void StopProcessing() => _cancel.Cancel();

    public void Dispose()
    {
        _cancel.Dispose();
        GC.SuppressFinalize(this);
    }

    private void Post(Action action)
    {
        var q = _queue;
        if (q is null)
        {
            action(); // called on the pipeline thread outside Pump
            return;
        }

        try
        {
            q.Add(action);
        }
        catch (InvalidOperationException)
        {
            // The pump ended (Ctrl+C): nobody is left to show it.
        }
    }
}
