using System.Runtime.InteropServices;

namespace PSContainerd.Engine;

/// <summary>The few Linux calls the pidfd killer needs (x86_64 syscall numbers; the module ships for linux-x64).</summary>
internal static class NativeMethods
{
    public const int SYS_pidfd_send_signal = 424;
    public const int SYS_pidfd_open = 434;
    public const int EPOLLIN = 0x001;
    public const int EPOLL_CTL_ADD = 1;
    public const int EPOLL_CTL_DEL = 2;
    public const int EPOLL_CLOEXEC = 0x80000;
    public const int EPERM = 1;
    public const int ESRCH = 3;
    public const int EBADF = 9;
    public const int EACCES = 13;
    public const int EINTR = 4;

    [StructLayout(LayoutKind.Sequential, Pack = 4)]
    public struct EpollEvent
    {
        public uint Events;
        public ulong Data;
    }

    [DllImport("libc", SetLastError = true)]
    public static extern long syscall(long number, long a1, long a2, long a3, long a4);

    [DllImport("libc", SetLastError = true)]
    public static extern int close(int fd);

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [DllImport("libc", SetLastError = true)]
    public static extern int poll(ref PollFd fds, ulong nfds, int timeout);

    [DllImport("libc", SetLastError = true)]
    public static extern int epoll_create1(int flags);

    [DllImport("libc", SetLastError = true)]
    public static extern int epoll_ctl(int epfd, int op, int fd, ref EpollEvent ev);

    [DllImport("libc", SetLastError = true)]
    public static extern unsafe int epoll_wait(int epfd, EpollEvent* events, int maxevents, int timeout);

    public const int O_RDONLY = 0;
    public const int O_CREAT = 0x40;
    public const int O_CLOEXEC = 0x80000;
    public const int LOCK_EX = 2;
    public const int LOCK_NB = 4;
    public const int EWOULDBLOCK = 11;

    [DllImport("libc", SetLastError = true)]
    public static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mode);

    /// <summary>flock(2): works on a read-only descriptor, and the kernel drops the lock with its holder.</summary>
    [DllImport("libc", SetLastError = true)]
    public static extern int flock(int fd, int operation);

    public const int _SC_CLK_TCK = 2;

    [DllImport("libc", SetLastError = true)]
    public static extern long sysconf(int name);

    [DllImport("libc", SetLastError = true)]
    public static extern int fchmod(int fd, uint mode);

    /// <summary>pidfd_open(2): a handle that keeps naming this process even if its pid is reused.</summary>
    public static int PidfdOpen(int pid) => (int)syscall(SYS_pidfd_open, pid, 0, 0, 0);

    /// <summary>pidfd_send_signal(2): signals exactly the process the pidfd names, or fails with ESRCH once it exited.</summary>
    public static int PidfdSendSignal(int pidfd, int signal) => (int)syscall(SYS_pidfd_send_signal, pidfd, signal, 0, 0);
}
