namespace PSContainerd.Engine;

/// <summary>
/// What the engine knows of one container, with waiters (moby's container.State.Wait): NotRunning
/// returns at once for a container that is not running, NextExit always waits for the next exit,
/// Removed waits for deletion. Work on one container (events, exits, loads) runs serially through
/// <see cref="Enqueue"/>; different containers proceed in parallel. No lock is held across an await.
/// </summary>
internal sealed class ContainerState
{
    private readonly object _gate = new();
    private readonly SerialQueue _queue = new();
    private readonly ContainerWaiters _waiters = new();

    public ContainerState(string id) => Id = id;

    public string Id { get; }

    public ContainerStatus Status { get; private set; } = ContainerStatus.Unknown;

    /// <summary>The init process's pid while a task exists.</summary>
    public uint Pid { get; private set; }

    public RecordedExit? LastExit { get; private set; }

    /// <summary>The pid of the process whose exit <see cref="LastExit"/> is (0 when not known): lets a late report of that exit correct an unknown status.</summary>
    public uint LastPid { get; private set; }

    public DateTime? StartedAt { get; private set; }

    /// <summary>Set by a <c>/tasks/oom</c> seen before the exit; reported with that exit, cleared at every start.</summary>
    public bool OomSeen { get; private set; }

    /// <summary>The labels last read or written; restart policy and manual-stop flag come from here.</summary>
    public IReadOnlyDictionary<string, string> Labels => Recorded.Labels;

    /// <summary>What the labels last read or written record, parsed once at each refresh.</summary>
    public RecordedState Recorded { get; private set; } = RecordedState.None;

    /// <summary>Stopped by hand: by the labels, or by a stop of this engine that has not written them yet.</summary>
    public bool ManuallyStopped { get; private set; }

    public bool Loaded { get; private set; }

    /// <summary>The record this state follows: a record of the same id created again is another container.</summary>
    public RecordIdentity Record { get; } = new();

    public bool IsRemoved => _waiters.IsRemoved;

    /// <summary>The stop in flight, joined by every further caller; what it is is the stop's business (Stop/).</summary>
    private object? _stop;

    /// <summary>Whether a stop of this engine is in flight.</summary>
    public bool StopInFlight
    {
        get
        {
            lock (_gate)
            {
                return _stop is not null;
            }
        }
    }

    /// <summary>This container's restart policy in action (moby's restartmanager): its backoff between exits.</summary>
    public RestartManager Restarts { get; } = new();

    /// <summary>
    /// The labels as containerd holds them now (returned by a write, read, or carried by a
    /// /containers/update event): the manual-stop flag follows them, unless a stop of this engine
    /// is in flight (its intent is on its way).
    /// </summary>
    public void RefreshLabels(IReadOnlyDictionary<string, string> labels)
    {
        lock (_gate)
        {
            Recorded = RecordedState.Of(labels);
            ManuallyStopped = Recorded.ManuallyStopped || _stop is not null;
        }
    }

    public void MarkManuallyStopped()
    {
        lock (_gate)
        {
            ManuallyStopped = true;
        }
    }

    public void MarkOom()
    {
        lock (_gate)
        {
            OomSeen = true;
        }
    }

    public void MarkLoaded()
    {
        lock (_gate)
        {
            Loaded = true;
        }
    }

    /// <summary>The stop in flight, or a new one from <paramref name="create"/>; <paramref name="joined"/> says which.</summary>
    public T JoinOrBeginStop<T>(Func<T> create, out bool joined) where T : class
    {
        lock (_gate)
        {
            joined = _stop is not null;
            return (T)(_stop ??= create());
        }
    }

    public void EndStop(object op)
    {
        lock (_gate)
        {
            if (_stop == op)
            {
                _stop = null;
            }
        }
    }

    /// <summary>The init process's pid and the wait for its next exit, read together: the pid a stop signals and the exit it waits for are of one run.</summary>
    public (uint Pid, Task<RecordedExit?> NextExit) PidAndNextExit()
    {
        lock (_gate)
        {
            return (Pid, WaitTask(WaitCondition.NextExit));
        }
    }

    public bool IsLive
    {
        get
        {
            lock (_gate)
            {
                return Status is ContainerStatus.Running or ContainerStatus.Paused or ContainerStatus.Created;
            }
        }
    }

    /// <summary>Runs <paramref name="work"/> after every earlier item for this container; a failure does not stop the queue.</summary>
    public Task Enqueue(Func<Task> work) => _queue.Enqueue(work);

    public Task<T> Enqueue<T>(Func<Task<T>> work) => _queue.Enqueue(work);

    /// <summary>A time before this run's task was created, when this engine created it: an exit from before it is of an earlier run.</summary>
    public DateTime? RunNotBefore { get; private set; }

    /// <param name="notBefore">Taken before the task was created (this engine's start): lets a stale exit of an init that had the same pid be told apart.</param>
    public void SetRunning(uint pid, DateTime? startedAt, bool paused = false, bool created = false, DateTime? notBefore = null)
    {
        lock (_gate)
        {
            if (notBefore is not null)
            {
                RunNotBefore = notBefore;
            }
            else if (pid != Pid)
            {
                RunNotBefore = null;
            }

            if (Status is not (ContainerStatus.Running or ContainerStatus.Paused or ContainerStatus.Created))
            {
                _waiters.RunBegins();
                // A new run: an OOM of the previous one must not leak into this one's exit (moby's SetRunning clears it).
                OomSeen = false;
            }

            Pid = pid;
            StartedAt = startedAt ?? StartedAt;
            Status = created ? ContainerStatus.Created : paused ? ContainerStatus.Paused : ContainerStatus.Running;
        }
    }

    public void SetPaused(bool paused)
    {
        lock (_gate)
        {
            if (Status is ContainerStatus.Running or ContainerStatus.Paused)
            {
                Status = paused ? ContainerStatus.Paused : ContainerStatus.Running;
            }
        }
    }

    /// <summary>The task delete this state waits to see confirmed by containerd's event, if any.</summary>
    public DeleteExpectation Delete { get; } = new();

    /// <summary>Records an exit and wakes waiters; with <paramref name="restarting"/> the status is Restarting (moby's SetRestarting wakes NotRunning too).</summary>
    public void SetExited(RecordedExit exit, bool restarting)
    {
        TaskCompletionSource<RecordedExit?> next, notRunning;
        lock (_gate)
        {
            LastExit = exit;
            LastPid = Pid;
            Status = restarting ? ContainerStatus.Restarting : ContainerStatus.Stopped;
            Pid = 0;
            OomSeen = false;
            (next, notRunning) = _waiters.RunEnded();
        }

        next.TrySetResult(exit);
        notRunning.TrySetResult(exit);
    }

    /// <summary>
    /// Replaces an exit recorded with an unknown status (255 with a Detail) by the real one that
    /// arrived later. Waiters are not woken again: they already got the exit; later ones get this.
    /// </summary>
    public bool CorrectExit(uint pid, RecordedExit exit)
    {
        lock (_gate)
        {
            if (LastExit is not { Detail: not null } || pid == 0 || pid != LastPid
                || Status is ContainerStatus.Running or ContainerStatus.Paused or ContainerStatus.Created)
            {
                return false;
            }

            LastExit = exit;
            return true;
        }
    }

    /// <summary>Loads a not-running state seen on first look (no task, or a recorded exit).</summary>
    public void SetNotRunning(ContainerStatus status, RecordedExit? exit)
    {
        TaskCompletionSource<RecordedExit?> notRunning;
        lock (_gate)
        {
            Status = status;
            LastExit = exit ?? LastExit;
            Pid = 0;
            notRunning = _waiters.NotRunning;
        }

        notRunning.TrySetResult(LastExit);
    }

    /// <summary>
    /// Leaves Restarting for Stopped (a cancelled or failed restart) and wakes every waiter, as
    /// moby's SetStopped does: a NextExit waiter gets the last exit rather than waiting for a run
    /// that will not come.
    /// </summary>
    public void SetStopped()
    {
        TaskCompletionSource<RecordedExit?> next, notRunning;
        lock (_gate)
        {
            if (Status is ContainerStatus.Running or ContainerStatus.Paused or ContainerStatus.Created)
            {
                return;
            }

            Status = ContainerStatus.Stopped;
            Pid = 0;
            (next, notRunning) = _waiters.RunEnded();
        }

        next.TrySetResult(LastExit);
        notRunning.TrySetResult(LastExit);
    }

    public void SetRemoved()
    {
        TaskCompletionSource<RecordedExit?> next, notRunning;
        lock (_gate)
        {
            Status = ContainerStatus.Unknown;
            (next, notRunning) = _waiters.All;
        }

        next.TrySetResult(LastExit);
        notRunning.TrySetResult(LastExit);
        _waiters.MarkRemoved();
    }

    /// <summary>The task a waiter on <paramref name="condition"/> awaits; already completed when the condition holds.</summary>
    public Task<RecordedExit?> WaitTask(WaitCondition condition)
    {
        lock (_gate)
        {
            return _waiters.WaitTask(condition, Status is ContainerStatus.Running or ContainerStatus.Paused or ContainerStatus.Created, () => LastExit);
        }
    }
}
