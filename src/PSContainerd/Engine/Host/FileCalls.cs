using System.Runtime.InteropServices;

namespace PSContainerd.Engine;

/// <summary>
/// The file calls the lock folder needs beyond <see cref="NativeMethods"/>: opening relative to a
/// checked folder without following links (openat + O_NOFOLLOW), the owner and mode of what was
/// opened (fstat), and open-file-description range locks (fcntl F_OFD_SETLK). x86_64 layouts.
/// </summary>
internal static class FileCalls
{
    public const int O_RDONLY = 0;
    public const int O_RDWR = 2;
    public const int O_CREAT = 0x40;
    public const int O_EXCL = 0x80;
    public const int O_DIRECTORY = 0x10000;
    public const int O_NOFOLLOW = 0x20000;
    public const int O_CLOEXEC = 0x80000;
    public const int AT_SYMLINK_NOFOLLOW = 0x100;
    public const int ENOENT = 2;
    public const int EACCES = 13;
    public const int EEXIST = 17;
    public const int ELOOP = 40;
    public const uint S_IFMT = 0xf000;
    public const uint S_IFDIR = 0x4000;
    public const uint S_IFREG = 0x8000;
    public const uint S_IFSOCK = 0xc000;

    private const int F_OFD_SETLK = 37;
    private const short F_WRLCK = 1;
    private const short SEEK_SET = 0;

    /// <summary>The fields of struct stat the lock folder looks at.</summary>
    public readonly record struct Stat(ulong Dev, ulong Ino, ulong Nlink, uint Mode, uint Uid, uint Gid)
    {
        public uint Type => Mode & S_IFMT;

        public uint Permissions => Mode & 0xfff;

        public static Stat From(byte[] buf) => new(
            BitConverter.ToUInt64(buf, 0), BitConverter.ToUInt64(buf, 8), BitConverter.ToUInt64(buf, 16),
            BitConverter.ToUInt32(buf, 24), BitConverter.ToUInt32(buf, 28), BitConverter.ToUInt32(buf, 32));
    }

    /// <summary>stat(2), following links (a socket's path may be a link): null when it cannot be read.</summary>
    public static Stat? StatPath(string path)
    {
        var buf = new byte[256];
        return stat(path, buf) == 0 ? Stat.From(buf) : null;
    }

    /// <summary>fstatat(2) of a name in a folder, not following a link.</summary>
    public static Stat? StatAt(int dirfd, string name)
    {
        var buf = new byte[256];
        return fstatat(dirfd, name, buf, AT_SYMLINK_NOFOLLOW) == 0 ? Stat.From(buf) : null;
    }

    public static Stat? StatFd(int fd)
    {
        var buf = new byte[256];
        return fstat(fd, buf) == 0 ? Stat.From(buf) : null;
    }

    /// <summary>An exclusive open-file-description lock on bytes [start, start+length) (0: to the end), not waiting; 0 or errno.</summary>
    public static int TryLockRange(int fd, long start, long length)
    {
        // struct flock: short l_type, short l_whence, (pad) off_t l_start, off_t l_len, pid_t l_pid (0 for OFD), (pad).
        var fl = new byte[32];
        BitConverter.TryWriteBytes(fl.AsSpan(0), F_WRLCK);
        BitConverter.TryWriteBytes(fl.AsSpan(2), SEEK_SET);
        BitConverter.TryWriteBytes(fl.AsSpan(8), start);
        BitConverter.TryWriteBytes(fl.AsSpan(16), length);
        return fcntl(fd, F_OFD_SETLK, fl) == 0 ? 0 : Marshal.GetLastWin32Error();
    }

    public static uint EffectiveUid => geteuid();

    [DllImport("libc", SetLastError = true)]
    public static extern int openat(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mode);

    [DllImport("libc", SetLastError = true)]
    public static extern int mkdir([MarshalAs(UnmanagedType.LPUTF8Str)] string path, uint mode);

    [DllImport("libc", SetLastError = true)]
    public static extern int unlinkat(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", SetLastError = true)]
    public static extern int fchown(int fd, int owner, int group);

    [DllImport("libc", SetLastError = true)]
    public static extern int fchmod(int fd, uint mode);

    [DllImport("libc", SetLastError = true)]
    public static extern long pwrite(int fd, byte[] buf, ulong count, long offset);

    [DllImport("libc", SetLastError = true)]
    public static extern long pread(int fd, byte[] buf, ulong count, long offset);

    [DllImport("libc", SetLastError = true)]
    private static extern uint geteuid();

    [DllImport("libc", SetLastError = true)]
    private static extern int stat([MarshalAs(UnmanagedType.LPUTF8Str)] string path, byte[] buf);

    [DllImport("libc", SetLastError = true)]
    private static extern int fstat(int fd, byte[] buf);

    [DllImport("libc", SetLastError = true)]
    private static extern int fstatat(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, byte[] buf, int flags);

    [DllImport("libc", SetLastError = true)]
    private static extern int fcntl(int fd, int cmd, byte[] arg);
}
