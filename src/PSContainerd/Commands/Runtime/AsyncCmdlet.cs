using System.Collections.Concurrent;
using System.Management.Automation;

namespace PSContainerd.Commands;

/// <summary>
/// Runs async engine work off the pipeline thread and pumps what it produces (objects, errors,
/// verbose lines, warnings, progress) back onto it, since PowerShell accepts output only there.
/// Work may be started per pipeline item and drained as it finishes. Ctrl+C (StopProcessing)
/// cancels the token and ends the pump at once; engine work that was started (a stop) keeps
/// going in the background.
/// </summary>
public abstract class AsyncCmdlet : PSCmdlet, IDisposable, IOutputSink
{
    private readonly CancellationTokenSource _cancel = new();
    private readonly BlockingCollection<Action> _queue = new();
    private int _running;

    protected CancellationToken Cancellation => _cancel.Token;

    /// <summary>
    /// Where this call's work writes, pumped onto the pipeline thread at the next drain: the one
    /// way out for a cmdlet, as a job's streams are for a job (<see cref="BackgroundJob"/>).
    /// </summary>
    protected IOutputSink Out => this;

    /// <summary>Runs <paramref name="work"/> and pumps its output until it ends or the user presses Ctrl+C.</summary>
    protected void Pump(Func<CancellationToken, Task> work)
    {
        StartWork(work);
        DrainUntilDone();
    }

    /// <summary>Starts <paramref name="work"/> in the background; its output waits for the next drain.</summary>
    protected void StartWork(Func<CancellationToken, Task> work)
    {
        Interlocked.Increment(ref _running);
        _ = Task.Run(async () =>
        {
            try
            {
                await work(_cancel.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (_cancel.IsCancellationRequested)
            {
            }
            catch (Exception e)
            {
                // Nothing escapes as a bare .NET exception: an unexpected failure is still an ErrorRecord.
                Out.Error(new ErrorRecord(e, "UnexpectedError", ErrorCategory.NotSpecified, null));
            }
            finally
            {
                if (Interlocked.Decrement(ref _running) == 0)
                {
                    Post(static () => { }); // wakes the drain
                }
            }
        });
    }

    /// <summary>
    /// Hands <paramref name="job"/> to PowerShell's job table (Get-Job, Receive-Job, Stop-Job),
    /// starts it on the thread pool and writes it: the cmdlet's whole answer when it runs as a job.
    /// </summary>
    private protected void StartJob(BackgroundJob job)
    {
        JobRepository.Add(job);
        job.Start();
        WriteObject(job);
    }

    /// <summary>Writes whatever output is ready, without waiting.</summary>
    protected void DrainAvailable()
    {
        while (_queue.TryTake(out var action))
        {
            action();
        }
    }

    /// <summary>Writes output as it comes until every started work item has ended.</summary>
    protected void DrainUntilDone()
    {
        try
        {
            while (Volatile.Read(ref _running) > 0)
            {
                if (_queue.TryTake(out var action, Timeout.Infinite, _cancel.Token))
                {
                    action();
                }
            }
        }
        catch (OperationCanceledException) when (_cancel.IsCancellationRequested)
        {
            throw new PipelineStoppedException();
        }
        catch (Exception)
        {
            // Output refused (Select-Object -First stopping upstream): stop the work too.
            _cancel.Cancel();
            throw;
        }

        DrainAvailable();
    }

    void IOutputSink.Output(object value) => Post(() => WriteObject(value));

    void IOutputSink.Error(ErrorRecord record) => Post(() => WriteError(record));

    void IOutputSink.Verbose(string text) => Post(() => WriteVerbose(text));

    void IOutputSink.Warning(string text) => Post(() => WriteWarning(text));

    void IOutputSink.Progress(ProgressRecord record) => Post(() => WriteProgress(record));

    void IOutputSink.Debug(string text) => Post(() => WriteDebug(text));

    protected override void StopProcessing() => _cancel.Cancel();

    public void Dispose()
    {
        // Work cancelled by Ctrl+C may still be finishing: it must find the queue closed, not disposed.
        _cancel.Cancel();
        _queue.CompleteAdding();
        OnDisposed();
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases what a derived cmdlet holds for the length of the call.</summary>
    protected virtual void OnDisposed()
    {
    }

    private void Post(Action action)
    {
        try
        {
            _queue.Add(action);
        }
        catch (InvalidOperationException)
        {
            // The command has ended (Ctrl+C): nobody is left to show it.
        }
    }
}
