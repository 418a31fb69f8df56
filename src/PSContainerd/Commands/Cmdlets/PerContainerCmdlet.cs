using System.Management.Automation;

namespace PSContainerd.Commands;

/// <summary>
/// The shape of every cmdlet that acts on containers by -Id: each pipeline item contributes
/// (engine of its -Address/-Namespace, its ids); at the end of the call all ids are resolved
/// before anything changes; ShouldProcess is asked per resolved container on the pipeline
/// thread; then the confirmed containers are acted on under one throttle. So an unknown id under
/// -ErrorAction Stop ends the call before any container is touched (as Stop-Process), and
/// -WhatIf names the real container, its namespace and socket.
/// </summary>
public abstract class PerContainerCmdlet : ContainerdCmdlet
{
    /// <summary>How many containers are acted on at once unless a cmdlet says otherwise.</summary>
    public const int DefaultThrottle = 16;

    private readonly List<ContainerRequest> _requests = new();

    /// <summary>The -Id values of the current pipeline item; null means every container of its namespace.</summary>
    protected abstract IReadOnlyList<string>? RequestedIds { get; }

    /// <summary>The ShouldProcess action; null for cmdlets that change nothing (no confirmation, no namespace check).</summary>
    protected abstract string? ShouldProcessAction { get; }

    /// <summary>-Force: act in a namespace another manager owns.</summary>
    protected virtual bool ForceNamespace => false;

    /// <summary>Containers acted on at once.</summary>
    protected virtual int Throttle => DefaultThrottle;

    /// <summary>False where a wildcard matching nothing is a normal empty answer (Get-Container, as Get-Process).</summary>
    protected virtual bool EmptyPatternIsError => true;

    /// <summary>True for read-only cmdlets that stream: each pipeline item is resolved and acted on as it arrives.</summary>
    protected virtual bool ActPerItem => false;

    /// <summary>Progress activity shown while many containers are acted on; null for none.</summary>
    protected virtual string? ProgressActivity => null;

    /// <summary>The ShouldProcess action for one resolved container; by default the same for all.</summary>
    protected virtual string ActionFor(ContainerTarget target, string action) => action;

    /// <summary>The work for one resolved, confirmed container.</summary>
    protected abstract Task ActAsync(ContainerTarget target, IOutputSink sink, CancellationToken ct);

    protected override void ProcessRecord()
    {
        if (ShouldProcessAction is not null && !CheckNamespace(ForceNamespace))
        {
            return; // the error was written; nothing in this namespace is touched
        }

        var request = new ContainerRequest(Engine, RequestedIds?.ToArray());
        if (ActPerItem)
        {
            Complete(new[] { request });
        }
        else
        {
            _requests.Add(request);
        }
    }

    protected override void EndProcessing()
    {
        if (!ActPerItem && _requests.Count > 0)
        {
            Complete(_requests);
        }
    }

    /// <summary>Acts on the confirmed containers; by default through the shared throttled runner, pumped onto this pipeline.</summary>
    protected virtual void Run(IReadOnlyList<ContainerTarget> targets) =>
        Pump(ct => ContainerRunner.RunAsync(targets, Throttle, ActAsync, this, ct, ProgressActivity));

    private void Complete(IReadOnlyList<ContainerRequest> requests)
    {
        IReadOnlyList<ContainerTarget> targets = Array.Empty<ContainerTarget>();
        Pump(async ct => targets = await ContainerRunner.ResolveAsync(requests, this, EmptyPatternIsError, ct).ConfigureAwait(false));
        var approved = ShouldProcessAction is string action
            ? targets.Where(t => ShouldProcess(t.ToString(), ActionFor(t, action))).ToList()
            : targets;
        if (approved.Count > 0)
        {
            Run(approved);
        }
    }
}
