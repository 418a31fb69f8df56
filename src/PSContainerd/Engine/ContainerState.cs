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
    private readonly TaskCompletionSource _removed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ContainerState(string id) => Id = id;

    public string Id { get; }

    public ContainerStatus Status { get; private set; } = ContainerStatus.Unknown;

    /// <summary>The init process's pid while a task exists.</summary>
    public uint Pid { get; private set; }

    public RecordedExit? LastExit { get; private set; }

    /// <summary>The pid of the process whose exit <see cref="LastExit"/> is (0 when not known): lets a late report of that exit correct an unknown status.</summary>
    public uint LastPid { get; private set; }

    public DateTime? StartedAt { get; private set; }

    /// <summary>Set by a <c>/tasks/oom</c> seen before the exit; reported with that exit.</summary>
    public bool OomSeen { get; set; }

    /// <summary>The labels last read or written; restart policy and manual-stop flag come from here.</summary>
    public IReadOnlyDictionary<string, string> Labels { get; set; } = new Dictionary<string, string>();

    public bool ManuallyStopped { get; set; }

    public bool Loaded { get; set; }

    public bool IsRemoved => _removed.Task.IsCompleted;

    /// <summary>The stop in flight, joined by every further caller.</summary>
    public StopOperation? Stop { get; set; }

    /// <summary>Cancels the restart waiting out its backoff.</summary>
    public CancellationTokenSource? PendingRestart { get; set; }

    /// <summary>moby's restartmanager backoff, carried between restarts.</summary>
    public TimeSpan RestartBackoff { get; set; }

    public object Gate => _gate;

    /// <summary>Cancels the restart waiting out its backoff, if any; true when there was one.</summary>
    public bool CancelPendingRestart()
    {
        CancellationTokenSource? pending;
        lock (_gate)
        {
            pending = PendingRestart;
            PendingRestart = null;
        }

        pending?.Cancel();
        return pending is not null;
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

    public void SetRunning(uint pid, DateTime? startedAt, bool paused = false, bool created = false)
    {
        lock (_gate)
        {
            if (Status is not (ContainerStatus.Running or ContainerStatus.Paused or ContainerStatus.Created))
            {
                _notRunning = NewTcs<RecordedExit?>();
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
