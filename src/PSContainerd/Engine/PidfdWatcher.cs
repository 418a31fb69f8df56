using System.Collections.Concurrent;

namespace PSContainerd.Engine;

/// <summary>
/// One thread in epoll_wait for every pidfd being watched: a pidfd turns readable when its
/// process exits, which makes it an exit source that needs neither containerd nor its shim.
/// One thread serves hundreds of concurrent stops.
/// </summary>
internal sealed unsafe class PidfdWatcher
{
    public static readonly PidfdWatcher Shared = new();

    private readonly ConcurrentDictionary<int, TaskCompletionSource> _watches = new();
    private readonly object _startGate = new();
    private int _epfd = -1;

    /// <summary>Completes when the process behind <paramref name="handle"/> exits (or the handle is closed).</summary>
    public Task WhenExited(InitProcessHandle handle)
    {
        EnsureStarted();
        var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int fd = handle.Fd;
        if (fd < 0 || !_watches.TryAdd(fd, tcs))
        {
            return _watches.TryGetValue(fd, out var existing) ? existing.Task : Task.CompletedTask;
        }

        var ev = new NativeMethods.EpollEvent { Events = NativeMethods.EPOLLIN, Data = (ulong)fd };
        if (NativeMethods.epoll_ctl(_epfd, NativeMethods.EPOLL_CTL_ADD, fd, ref ev) != 0)
        {
            _watches.TryRemove(fd, out _);
            return Task.Delay(Timeout.Infinite); // unwatchable: the other exit sources decide.
        }

        return tcs.Task;
    }

    public void Forget(int fd)
    {
        if (_watches.TryRemove(fd, out var tcs))
        {
            var ev = default(NativeMethods.EpollEvent);
            NativeMethods.epoll_ctl(_epfd, NativeMethods.EPOLL_CTL_DEL, fd, ref ev);
            tcs.TrySetCanceled();
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
                int fd = (int)events[i].Data;
                if (_watches.TryRemove(fd, out var tcs))
                {
                    var ev = default(NativeMethods.EpollEvent);
                    NativeMethods.epoll_ctl(epfd, NativeMethods.EPOLL_CTL_DEL, fd, ref ev);
                    tcs.TrySetResult();
                }
            }
        }
    }
}
