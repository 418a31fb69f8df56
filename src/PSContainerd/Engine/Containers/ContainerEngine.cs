using System.Collections.Concurrent;
using PSContainerd.Containerd;

namespace PSContainerd.Engine;

/// <summary>
/// The engine for one (socket, namespace), shared by every cmdlet and runspace in the process:
/// container states and waiters, stop operations, the event monitor, the restart manager and
/// the label-backed state store. Started on first use; <see cref="DisposeAllAsync"/> on module removal.
/// </summary>
public sealed partial class ContainerEngine : IAsyncDisposable
{
    private static readonly ConcurrentDictionary<(string Address, string Namespace), Lazy<ContainerEngine>> Engines = new();

    private readonly ConcurrentDictionary<string, ContainerState> _states = new(StringComparer.Ordinal);
    private readonly EventMonitor _monitor;
    private readonly StopOperation.StopParts _stopParts;

    private ContainerEngine(string address, string @namespace)
    {
        Address = address;
        Events = new EngineEvents(address);
        Namespace = @namespace;
        Client = new ContainerdClient(address, @namespace);
        StateStore = new LabelStateStore(Client);
        // Restarts happen only in namespaces this module manages, so only there is the duty contended for.
        var duty = Manages ? new SupervisorLock(address, @namespace, Log) : null;
        Starter = new TaskStarter(Client, StateStore, Manages, Diagnose);
        Restarts = new RestartSupervisor(Client, StateStore, Events, @namespace, Starter.StartAsync, Diagnose, duty, new ContainerLock(address, @namespace));
        _remover = new RecordRemover(Client, Restarts.ContainerLock, Forget);
        Exits = new ExitRecorder(Client, StateStore, Events, @namespace, Manages, Restarts, _remover, Diagnose, Forget);
        ExitSources = new ExitSources(Client, Exits);
        _stopParts = new StopOperation.StopParts(Client, StateStore, Events, @namespace, Manages, Restarts, ExitSources);
        _monitor = new EventMonitor(Client, DispatchAsync, ResyncAsync, Log);
        if (duty is not null)
        {
            duty.Acquired += OnDutyAcquired;
            duty.Start();
        }
    }

    public string Address { get; }

    public string Namespace { get; }

    /// <summary>Every event the engine handled, for Get-ContainerEvent and the monitor job.</summary>
    public EngineEvents Events { get; }

    /// <summary>Diagnostics that have no caller to go to (a label write that failed in the background).</summary>
    public event Action<string>? Diagnostic;

    /// <summary>How many times the event stream was established and resynced.</summary>
    public int MonitorGeneration => _monitor.Generation;

    /// <summary>
    /// False in namespaces another manager owns (dockerd's moby, kubelet's k8s.io): there the
    /// engine watches and signals when forced, but never deletes tasks or writes labels.
    /// </summary>
    public bool Manages => ForeignOwner(Namespace) is null;

    internal ContainerdClient Client { get; }

    internal LabelStateStore StateStore { get; }

    internal ExitRecorder Exits { get; }

    /// <summary>Creates, starts and records a container's task: a manual start and every restart.</summary>
    internal TaskStarter Starter { get; }

    /// <summary>Set by tests only: runs after a task started, before its start is recorded.</summary>
    internal Func<string, Task>? BeforeRecordStart
    {
        get => Starter.BeforeRecordStart;
        set => Starter.BeforeRecordStart = value;
    }

    internal RestartSupervisor Restarts { get; }

    /// <summary>Where exits seen outside the event stream are reported from: Tasks.Wait, the pidfd, a signal's answer.</summary>
    internal ExitSources ExitSources { get; }

    /// <summary>Whether this engine holds the restart duty for its (socket, namespace) on this host.</summary>
    public bool IsSupervisor => Restarts.IsHolder;

    /// <summary>Since when this engine holds the restart duty; null while it does not.</summary>
    public DateTime? SupervisorSince => Restarts.IsHolder ? Restarts.Lock?.Since : null;

    /// <summary>Who holds the restart duty for (<paramref name="address"/>, <paramref name="namespace"/>) on this host now, from the kernel's lock table.</summary>
    public static (int ProcessId, DateTime? Since)? SupervisorOf(string address, string @namespace) =>
        SupervisorLock.Holder(address, @namespace) is { } h ? (h.ProcessId, h.Since) : null;

    /// <summary>The duty's lock file for (<paramref name="address"/>, <paramref name="namespace"/>), why this process cannot use it, and its holder with its heartbeat.</summary>
    internal static SupervisorLookup LookAtSupervisor(string address, string @namespace) => SupervisorLock.Look(address, @namespace);

    /// <summary>Why this engine does not contend for the restart duty (no socket, an unsafe lock folder, no access); null while it holds or waits for it.</summary>
    public string? SupervisorProblem => Restarts.Lock?.Problem;

    /// <summary>
    /// An engine of its own, not shared through <see cref="For"/>: tests use it to play "a fresh
    /// process" (Restore-ContainerState after the session that started a container is gone).
    /// The caller disposes it.
    /// </summary>
    internal static ContainerEngine CreateUnshared(string address, string @namespace) => new(address, @namespace);

    public static ContainerEngine For(string address, string @namespace)
    {
        var engine = Engines.GetOrAdd((address, @namespace), k => new Lazy<ContainerEngine>(() => new ContainerEngine(k.Address, k.Namespace))).Value;
        engine.Touch();
        return engine;
    }

    /// <summary>The manager that owns <paramref name="namespace"/>, or null when it is nobody's.</summary>
    public static string? ForeignOwner(string @namespace) => @namespace switch
    {
        "moby" => "dockerd",
        "k8s.io" => "kubelet (CRI)",
        _ => null,
    };

    public static async Task DisposeAllAsync()
    {
        StopEvicting();
        foreach (var key in Engines.Keys.ToArray())
        {
            if (Engines.TryRemove(key, out var lazy) && lazy.IsValueCreated)
            {
                await lazy.Value.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Completes once the event stream is live (started on first use); fails if containerd cannot be reached.</summary>
    public Task WhenMonitoringAsync(CancellationToken ct = default) => _monitor.WhenLiveAsync(TimeSpan.FromSeconds(10), ct);

    /// <summary>The one container <paramref name="idOrPrefix"/> names (<see cref="ContainerIdMatcher"/>'s rules).</summary>
    public async Task<string> ResolveAsync(string idOrPrefix, CancellationToken ct = default)
    {
        if (!string.IsNullOrWhiteSpace(idOrPrefix) && !ContainerIdMatcher.IsPattern(idOrPrefix) && await ExistsAsync(idOrPrefix, ct).ConfigureAwait(false))
        {
            return idOrPrefix;
        }

        // Listed only when the text can name another container (a wildcard, a hex prefix); else the error.
        var ids = ContainerIdMatcher.NeedsList(idOrPrefix) ? await ListIdsAsync(ct).ConfigureAwait(false) : Array.Empty<string>();
        var matches = ContainerIdMatcher.Match(idOrPrefix, ids, Where);
        return matches.Count == 1 ? matches[0] : throw new ContainerLookupException(LookupFailure.Ambiguous, idOrPrefix,
            $"'{idOrPrefix}' matches {matches.Count} containers {Where}: {string.Join(", ", matches.Take(10))}.", matches);
    }

    /// <summary>"in namespace 'x' at '/socket'", for messages that must say where a lookup looked.</summary>
    public string Where => $"in namespace '{Namespace}' at '{Address}'";

    /// <summary>Starts (or joins) the stop of <paramref name="id"/>; cancelling <paramref name="ct"/> ends only the caller's wait.</summary>
    public async Task<StopResult> StopAsync(string id, int? signal, int? timeoutSeconds, Action<StopStep>? onStep, CancellationToken ct = default)
    {
        var s = await TrackAsync(id, ct).ConfigureAwait(false);
        StopOperation op;
        bool joined;
        var warnings = new List<string>();
        var settings = StopSettings.Resolve(s.Labels, signal, timeoutSeconds, warnings);
        op = s.JoinOrBeginStop(() => new StopOperation(_stopParts, s, settings, warnings), out joined);
        if (onStep is not null)
        {
            op.StepAdded += onStep;
        }

        if (joined)
        {
            op.Tighten(settings.TimeoutSeconds);
        }
        else
        {
            op.Start();
        }

        try
        {
            return await op.Completion.WaitAsync(ct).ConfigureAwait(false);
        }
        finally
        {
            if (onStep is not null)
            {
                op.StepAdded -= onStep;
            }
        }
    }

    /// <summary>Waits like docker wait. A null <paramref name="timeout"/> waits for ever; cancel to give up.</summary>
    public async Task<WaitResult> WaitAsync(string id, WaitCondition condition, TimeSpan? timeout, CancellationToken ct = default)
    {
        var s = await TrackAsync(id, ct).ConfigureAwait(false);
        var task = s.WaitTask(condition);
        bool timedOut = false;
        if (timeout is TimeSpan t && t < GracePeriod.LongestTimer)
        {
            try
            {
                await task.WaitAsync(t, ct).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                timedOut = true;
            }
        }
        else
        {
            await task.WaitAsync(ct).ConfigureAwait(false);
        }

        var exit = timedOut ? null : task.Result;
        return new WaitResult
        {
            Id = s.Id,
            Namespace = Namespace,
            Address = Address,
            Condition = condition,
            ExitCode = exit?.ExitCode,
            ExitedAt = exit?.ExitedAt,
            OOMKilled = exit?.OomKilled ?? false,
            TimedOut = timedOut,
            Error = exit?.Detail,
        };
    }

    /// <summary>
    /// A Version call to <paramref name="address"/> in the background, its result dropped: the
    /// channel and its connection are made, and their code compiled, before the first real call
    /// needs them. Nothing happens when no file is at the path.
    /// </summary>
    public static void WarmUp(string address)
    {
        if (!File.Exists(address))
        {
            return;
        }

        _ = Task.Run(async () =>
        {
            try
            {
                await new ContainerdClient(address, "default").VersionAsync(CancellationToken.None, TimeSpan.FromSeconds(2)).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // the first real call reports what is wrong
            }
        });
    }

    internal void Log(string message) => Diagnostic?.Invoke(message);

    /// <summary>A failure of background work: to <see cref="Diagnostic"/> and as a Diagnostic ContainerEvent (Get-ContainerEvent -Type Diagnostic).</summary>
    internal void Diagnose(string id, string message)
    {
        Log($"{id}: {message}");
        Events.Publish(Namespace, id, EventTypes.Diagnostic, null, ("Message", message));
    }

    /// <summary>Drops a container that is gone, with any restart it had pending (a new container may take its id).</summary>
    internal void Forget(ContainerState s)
    {
        Restarts.CancelPending(s);
        s.SetRemoved();
        _states.TryRemove(new KeyValuePair<string, ContainerState>(s.Id, s));
    }

    internal ContainerState StateOf(string id) => _states.GetOrAdd(id, i => new ContainerState(i));

    /// <summary>The container's state, loaded once the event stream is live so no exit can fall between the look and the watch.</summary>
    internal async Task<ContainerState> TrackAsync(string id, CancellationToken ct)
    {
        await _monitor.WhenLiveAsync(TimeSpan.FromSeconds(10), ct).ConfigureAwait(false);
        var s = StateOf(id);
        if (!s.Loaded)
        {
            await s.Enqueue(() => LoadAsync(s, ct)).WaitAsync(ct).ConfigureAwait(false);
        }

        return s;
    }

    public async ValueTask DisposeAsync()
    {
        // First: no restart may start once the module is going (pending ones are cancelled, the duty released).
        Restarts.Dispose();
        await _monitor.DisposeAsync().ConfigureAwait(false);
        Events.CompleteAll();
    }
}
