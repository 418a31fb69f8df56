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
    private Task _tail = Task.CompletedTask;
    private TaskCompletionSource<RecordedExit?> _nextExit = NewTcs<RecordedExit?>();
    private TaskCompletionSource<RecordedExit?> _notRunning = NewTcs<RecordedExit?>();
    private TaskCompletionSource<bool>? _deleteSeen;
    private uint _deletePid;
    private readonly TaskCompletionSource _removed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private CancellationTokenSource? _pendingRestart;

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
    public IReadOnlyDictionary<string, string> Labels { get; private set; } = new Dictionary<string, string>();

    /// <summary>Stopped by hand: by the labels, or by a stop of this engine that has not written them yet.</summary>
    public bool ManuallyStopped { get; private set; }

    public bool Loaded { get; private set; }

    /// <summary>
    /// containerd's CreatedAt of the record this state follows (null until read): the record's
    /// identity. A record of the same id with another CreatedAt is a container removed and
    /// created again, whose past (a pending restart) is not this one's.
    /// </summary>
    public DateTime? RecordCreatedAt { get; private set; }

    /// <summary>Notes the identity of the record this state follows now (read at a load, a restore, a restart decision).</summary>
    public void BindRecord(DateTime createdAt)
    {
        lock (_gate)
        {
            if (createdAt != DateTime.MinValue)
            {
                RecordCreatedAt = createdAt;
            }
        }
    }

    /// <summary>Whether a record with <paramref name="createdAt"/> is the one this state follows (true while either is unknown).</summary>
    public bool IsSameRecord(DateTime createdAt)
    {
        lock (_gate)
        {
            return RecordCreatedAt is null || createdAt == DateTime.MinValue || RecordCreatedAt == createdAt;
        }
    }

    public bool IsRemoved => _removed.Task.IsCompleted;

    /// <summary>The stop in flight, joined by every further caller.</summary>
    public StopOperation? Stop { get; private set; }

    /// <summary>This container's restart policy in action (moby's restartmanager): its backoff between exits.</summary>
    public RestartManager Restarts { get; } = new();

    public object Gate => _gate;

    /// <summary>
    /// The labels as containerd holds them now (returned by a write, read, or carried by a
    /// /containers/update event): the manual-stop flag follows them, unless a stop of this engine
    /// is in flight (its intent is on its way).
    /// </summary>
    public void RefreshLabels(IReadOnlyDictionary<string, string> labels)
    {
        lock (_gate)
        {
            Labels = labels;
            ManuallyStopped = RestartManager.IsManuallyStopped(labels) || Stop is not null;
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
    public StopOperation JoinOrBeginStop(Func<StopOperation> create, out bool joined)
    {
        lock (_gate)
        {
            joined = Stop is not null;
            return Stop ??= create();
        }
    }

    public void EndStop(StopOperation op)
    {
        lock (_gate)
        {
            if (Stop == op)
            {
                Stop = null;
            }
        }
    }

    /// <summary>Sets the restart waiting out its backoff; returns the one it replaced, if any.</summary>
    public CancellationTokenSource? SetPendingRestart(CancellationTokenSource cts)
    {
        lock (_gate)
        {
            var old = _pendingRestart;
            _pendingRestart = cts;
            return old;
        }
    }

    /// <summary>Takes the pending restart away (a stop or a start came first); null when there was none.</summary>
    public CancellationTokenSource? TakePendingRestart()
    {
        lock (_gate)
        {
            var cts = _pendingRestart;
            _pendingRestart = null;
            return cts;
        }
    }

    /// <summary>Takes the pending restart if it is still <paramref name="cts"/> and not cancelled; false when something else came first.</summary>
    public bool TakePendingRestart(CancellationTokenSource cts)
    {
        lock (_gate)
        {
            if (_pendingRestart != cts || cts.IsCancellationRequested)
            {
                return false;
            }

            _pendingRestart = null;
            return true;
        }
    }

    public bool HasPendingRestart
    {
        get
        {
            lock (_gate)
            {
                return _pendingRestart is not null;
            }
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
    public Task Enqueue(Func<Task> work)
    {
        lock (_gate)
        {
            var next = _tail.ContinueWith(_ => work(), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default).Unwrap();
            _tail = next.ContinueWith(_ => { }, TaskScheduler.Default);
            return next;
        }
    }

    public Task<T> Enqueue<T>(Func<Task<T>> work)
    {
        lock (_gate)
        {
            var next = _tail.ContinueWith(_ => work(), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default).Unwrap();
            _tail = next.ContinueWith(_ => { }, TaskScheduler.Default);
            return next;
        }
    }

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
                _notRunning = NewTcs<RecordedExit?>();
            }

            if (Status is not (ContainerStatus.Running or ContainerStatus.Paused or ContainerStatus.Created))
            {
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

    /// <summary>
    /// Before a task delete: the task returned completes when containerd's <c>/tasks/delete</c> event
    /// for <paramref name="pid"/> reaches the engine (<see cref="DeleteSeen"/>), which it does off
    /// the container's queue, while the delete itself still runs on it. One expectation at a time.
    /// </summary>
    public Task ExpectDelete(uint pid)
    {
        lock (_gate)
        {
            _deletePid = pid;
            _deleteSeen = NewTcs<bool>();
            return _deleteSeen.Task;
        }
    }

    /// <summary>containerd published <c>/tasks/delete</c> for <paramref name="pid"/> (0: any): an expected delete is confirmed.</summary>
    public void DeleteSeen(uint pid)
    {
        TaskCompletionSource<bool>? seen;
        lock (_gate)
        {
            if (_deleteSeen is null || (pid != 0 && _deletePid != 0 && pid != _deletePid))
            {
                return;
            }

            seen = _deleteSeen;
            _deleteSeen = null;
        }

        seen.TrySetResult(true);
    }

    /// <summary>Drops an expectation the delete's reply answered first.</summary>
    public void ForgetDelete()
    {
        lock (_gate)
        {
            _deleteSeen = null;
        }
    }

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
            next = _nextExit;
            notRunning = _notRunning;
            _nextExit = NewTcs<RecordedExit?>();
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
            notRunning = _notRunning;
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
            next = _nextExit;
            notRunning = _notRunning;
            _nextExit = NewTcs<RecordedExit?>();
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
            next = _nextExit;
            notRunning = _notRunning;
        }

        next.TrySetResult(LastExit);
        notRunning.TrySetResult(LastExit);
        _removed.TrySetResult();
    }

    /// <summary>The task a waiter on <paramref name="condition"/> awaits; already completed when the condition holds.</summary>
    public Task<RecordedExit?> WaitTask(WaitCondition condition)
    {
        lock (_gate)
        {
            return condition switch
            {
                WaitCondition.NextExit => IsRemoved ? Task.FromResult(LastExit) : _nextExit.Task,
                WaitCondition.Removed => _removed.Task.ContinueWith(_ => LastExit, TaskScheduler.Default),
                _ => Status is ContainerStatus.Running or ContainerStatus.Paused or ContainerStatus.Created && !IsRemoved
                    ? _notRunning.Task
                    : Task.FromResult(LastExit),
            };
        }
    }

    private static TaskCompletionSource<T> NewTcs<T>() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
