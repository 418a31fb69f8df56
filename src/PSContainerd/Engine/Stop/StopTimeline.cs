namespace PSContainerd.Engine;

/// <summary>
/// A stop's steps as they happen: what was sent (and which way), waited for and observed. The
/// result's <c>Steps</c> is a snapshot of it; observers (Write-Verbose, a job) see each step live.
/// </summary>
internal sealed class StopTimeline
{
    private readonly object _gate = new();
    private readonly List<StopStep> _steps = new();

    /// <summary>Raised for each step as it is added.</summary>
    public event Action<StopStep>? StepAdded;

    public void Add(StopStepKind kind, string detail, SignalRoute route = SignalRoute.None)
    {
        var step = new StopStep(DateTime.UtcNow, kind, detail) { Route = route };
        lock (_gate)
        {
            _steps.Add(step);
        }

        // Each observer on its own: one that throws (an -AsJob whose streams closed) must not
        // abort the stop every other caller shares.
        foreach (var observer in StepAdded?.GetInvocationList() ?? Array.Empty<Delegate>())
        {
            try
            {
                ((Action<StopStep>)observer)(step);
            }
            catch (Exception)
            {
            }
        }
    }

    public IReadOnlyList<StopStep> Snapshot()
    {
        lock (_gate)
        {
            return _steps.ToArray();
        }
    }
}
