using System.Collections.Concurrent;

namespace PSContainerd.Engine;

/// <summary>
/// One thread in epoll_wait for every pidfd being watched: a pidfd turns readable when its
/// process exits, which makes it an exit source that needs neither containerd nor its shim.
/// One thread serves hundreds of concurrent stops. Each watch is registered under a token of
/// its own, never under its fd number: a descriptor closed and reused for another process's
/// pidfd must not let a stale event of the old one complete the new watch (a running container
/// recorded as exited).
/// </summary>
internal sealed unsafe class PidfdWatcher
{
    public static readonly PidfdWatcher Shared = new();

    private readonly ConcurrentDictionary<ulong, (int Fd, TaskCompletionSource Tcs)> _watches = new();
    private readonly ConcurrentDictionary<int, ulong> _tokenOfFd = new();
    private long _nextToken;
    private readonly object _startGate = new();
    private int _epfd = -1;

    /// <summary>Completes when the process behind <paramref name="handle"/> exits (or the handle is closed).</summary>
    public Task WhenExited(InitProcessHandle handle)
    {
        EnsureStarted();
        int fd = handle.Fd;
        if (fd < 0)
        {
            return Task.CompletedTask;
        }

        if (_tokenOfFd.TryGetValue(fd, out var known) && _watches.TryGetValue(known, out var existing))
        {
            return existing.Tcs.Task;
        }

        ulong token = (ulong)Interlocked.Increment(ref _nextToken);
        var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _watches[token] = (fd, tcs);
        _tokenOfFd[fd] = token;
        var ev = new NativeMethods.EpollEvent { Events = NativeMethods.EPOLLIN, Data = token };
        if (NativeMethods.epoll_ctl(_epfd, NativeMethods.EPOLL_CTL_ADD, fd, ref ev) != 0)
        {
            _watches.TryRemove(token, out _);
            _tokenOfFd.TryRemove(new KeyValuePair<int, ulong>(fd, token));
            return Task.Delay(Timeout.Infinite); // unwatchable: the other exit sources decide.
        }

        return tcs.Task;
    }

    /// <summary>Ends the watch on <paramref name="fd"/> before the descriptor is closed.</summary>
    public void Forget(int fd)
    {
        if (_tokenOfFd.TryRemove(fd, out var token) && _watches.TryRemove(token, out var w))
        {
            var ev = default(NativeMethods.EpollEvent);
            NativeMethods.epoll_ctl(_epfd, NativeMethods.EPOLL_CTL_DEL, fd, ref ev);
            w.Tcs.TrySetCanceled();
        }
    }

    private void EnsureStarted()
    {
        if (Volatile.Read(ref _epfd) >= 0)
        {
            return;
        }

        lock (_startGate)
        {
            if (_epfd >= 0)
            {
                return;
            }

            int epfd = NativeMethods.epoll_create1(NativeMethods.EPOLL_CLOEXEC);
            if (epfd < 0)
            {
                throw new InvalidOperationException("epoll_create1 failed");
            }

            var thread = new Thread(() => Loop(epfd)) { IsBackground = true, Name = "PSContainerd pidfd watcher" };
            thread.Start();
            Volatile.Write(ref _epfd, epfd);
        }
    }

    private void Loop(int epfd)
    {
        var events = stackalloc NativeMethods.EpollEvent[64];
        while (true)
        {
            int n = NativeMethods.epoll_wait(epfd, events, 64, 1000);
            for (int i = 0; i < n; i++)
            {
                // A token no longer registered is a stale event of a watch already forgotten.
                if (_watches.TryRemove(events[i].Data, out var w))
                {
                    _tokenOfFd.TryRemove(new KeyValuePair<int, ulong>(w.Fd, events[i].Data));
                    var ev = default(NativeMethods.EpollEvent);
                    NativeMethods.epoll_ctl(epfd, NativeMethods.EPOLL_CTL_DEL, w.Fd, ref ev);
                    w.Tcs.TrySetResult();
                }
            }
        }
    }
}
