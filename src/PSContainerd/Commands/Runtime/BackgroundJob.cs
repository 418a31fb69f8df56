using System.Management.Automation;

namespace PSContainerd.Commands;

/// <summary>
/// What the module's -AsJob jobs share: they run on the thread pool from Start, Stop-Job
/// cancels their work and marks them Stopped, and the first finishing state sticks.
/// </summary>
public abstract class BackgroundJob : Job, IOutputSink
{
    private const int MaxDebugRecords = 1000;

    private readonly CancellationTokenSource _cancel = new();
    private volatile bool _hadErrors;

    protected BackgroundJob(string command, string name, string typeName)
        : base(command, name)
    {
        PSJobTypeName = typeName;
        Diagnostics = new DiagnosticRelay(this);
    }

    /// <summary>The engines' diagnostics while the job runs go to its Debug stream; a job adds the engines it uses.</summary>
    private protected DiagnosticRelay Diagnostics { get; }

    public override bool HasMoreData => Output.Count > 0 || Error.Count > 0 || Verbose.Count > 0 || Warning.Count > 0 || Debug.Count > 0;

    protected CancellationToken Cancellation => _cancel.Token;

    /// <summary>Where the job's work writes: its streams, as a cmdlet's <c>Out</c> is its pipeline.</summary>
    private protected IOutputSink Out => this;

    /// <summary>Output records kept for Receive-Job at most; past it the oldest go first. Unbounded unless a job says otherwise.</summary>
    protected virtual int OutputLimit => int.MaxValue;

    /// <summary>True once an error was written: the job ends Failed.</summary>
    protected bool HadErrors => _hadErrors;

    void IOutputSink.Output(object value)
    {
        if (Output.Count >= OutputLimit)
        {
            Output.RemoveAt(0);
        }

        Output.Add(PSObject.AsPSObject(value));
    }

    void IOutputSink.Error(ErrorRecord record)
    {
        _hadErrors = true;
        Error.Add(record);
    }

    void IOutputSink.Verbose(string text) => Verbose.Add(new VerboseRecord(text));

    void IOutputSink.Warning(string text) => Warning.Add(new WarningRecord(text));

    void IOutputSink.Debug(string text)
    {
        // A supervisor job runs for the life of the process: keep the latest diagnostics, not all.
        if (Debug.Count >= MaxDebugRecords)
        {
            Debug.RemoveAt(0);
        }

        Debug.Add(new DebugRecord(text));
    }

    void IOutputSink.Progress(ProgressRecord record) => Progress.Add(record);

    internal void Start()
    {
        SetJobState(JobState.Running);
        _ = Task.Run(() => RunAsync(_cancel.Token));
    }

    public override void StopJob()
    {
        _cancel.Cancel();
        Finish(JobState.Stopped);
    }

    /// <summary>The job's work; it ends by calling <see cref="Finish"/>.</summary>
    protected abstract Task RunAsync(CancellationToken ct);

    /// <summary>
    /// Runs work that goes until it ends by itself or Stop-Job cancels it: Completed when it
    /// returns, Stopped when cancelled, Failed with its error (<paramref name="address"/> names
    /// where it was working, for the ErrorRecord).
    /// </summary>
    private protected async Task RunToEndAsync(Func<Task> work, string address, CancellationToken ct)
    {
        try
        {
            await work().ConfigureAwait(false);
            Finish(JobState.Completed);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            Finish(JobState.Stopped);
        }
        catch (Exception e) when (ErrorRecords.TryFrom(e, address, out var record))
        {
            Out.Error(record);
            Finish(JobState.Failed);
        }
    }

    /// <summary>
    /// Sets the final state once: the first of the job's own end and Stop-Job wins, and the other
    /// changes nothing (a second state change would tell Receive-Job -AutoRemoveJob twice to remove it).
    /// </summary>
    protected void Finish(JobState state)
    {
        Diagnostics.Dispose();
        if (Interlocked.Exchange(ref _finished, 1) == 0)
        {
            SetJobState(state);
        }
    }

    private int _finished;

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _cancel.Cancel();
            Diagnostics.Dispose();
        }

        base.Dispose(disposing);
    }
}
