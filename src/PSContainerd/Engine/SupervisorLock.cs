using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace PSContainerd.Engine;

/// <summary>
/// The restart duty for one (socket, namespace) on this host: an exclusive <c>flock</c> on a lock
/// file named after the socket's real path and the namespace. Every engine records exits; only the
/// holder of this lock restarts containers, so two sessions never fight over a restart. The kernel
/// drops the lock when its holder dies, so the duty passes on at once, with no expiry and no
/// pid-reuse question. flock works on a read-only descriptor: a user who reaches the socket through
/// its group can hold the duty without write access to a file root created. See docs/architecture.md.
/// </summary>
internal sealed class SupervisorLock : IDisposable
{
    /// <summary>Where lock files go; created mode 1777 (anyone may create files, only owners delete them).</summary>
    public const string PreferredDirectory = "/run/lock/pscontainerd";

    /// <summary>When <see cref="PreferredDirectory"/> cannot be used (no /run/lock, or not writable).</summary>
    public static readonly string FallbackDirectory = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "pscontainerd-lock");

    /// <summary>rwxrwxrwt: anyone may create files, only a file's owner may delete it (as /tmp).</summary>
    private const uint Shared = 0b1_111_111_111;

    private readonly object _gate = new();
    private readonly Action<string> _log;
    private int _fd;
    private bool _held;
    private bool _disposed;
    private Thread? _waiter;

    public SupervisorLock(string address, string @namespace, Action<string> log)
    {
        _log = log;
        Address = address;
        Namespace = @namespace;
        FilePath = LockPathFor(address, @namespace);
        _fd = NativeMethods.open(FilePath, NativeMethods.O_RDONLY | NativeMethods.O_CREAT | NativeMethods.O_CLOEXEC, 0b110_100_100);
        if (_fd < 0)
        {
            _log($"restart supervisor: cannot open {FilePath}: errno {Marshal.GetLastWin32Error()}; this engine will not restart containers");
        }
    }

    /// <summary>Raised once, on the waiting thread, when this engine takes the duty.</summary>
    public event Action? Acquired;

    public string Address { get; }

    public string Namespace { get; }

    /// <summary>The lock file.</summary>
    public string FilePath { get; }

    public bool IsHeld
    {
        get
        {
            lock (_gate)
            {
                return _held && !_disposed;
            }
        }
    }

    public DateTime? Since { get; private set; }

    /// <summary>Starts waiting for the duty on a background thread (blocked in flock) unless already started.</summary>
    public void Start()
    {
        lock (_gate)
        {
            if (_waiter is not null || _disposed || _fd < 0)
            {
                return;
            }

            _waiter = new Thread(Wait) { IsBackground = true, Name = "pscontainerd restart supervisor lock" };
            _waiter.Start();
        }
    }

    /// <summary>Blocks until the lock is ours. The thread owns the descriptor until then: a dispose meanwhile leaves it to this thread to close.</summary>
    private void Wait()
    {
        int fd = _fd;
        while (NativeMethods.flock(fd, NativeMethods.LOCK_EX) != 0)
        {
            int errno = Marshal.GetLastWin32Error();
            if (errno != NativeMethods.EINTR)
            {
                _log($"restart supervisor: flock on {FilePath} failed: errno {errno}");
                return;
            }
        }

        lock (_gate)
        {
            if (_disposed)
            {
                // Disposed while blocked: give the duty straight back.
                NativeMethods.close(fd);
                return;
            }

            _held = true;
            Since = DateTime.UtcNow;
        }

        WriteHolderNote();
        try
        {
            Acquired?.Invoke();
        }
        catch (Exception e)
        {
            _log($"restart supervisor: taking the duty failed: {e.Message}");
        }
    }

    /// <summary>Where the lock for (<paramref name="address"/>, <paramref name="namespace"/>) lives: one file per real socket path and namespace.</summary>
    public static string LockPathFor(string address, string @namespace)
    {
        string real = RealPath(address);
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(real + "\0" + @namespace));
        string name = Convert.ToHexString(hash)[..32].ToLowerInvariant() + ".lock";
        return System.IO.Path.Combine(Directory(), name);
    }

    /// <summary>The folder for lock files: <see cref="PreferredDirectory"/>, else <see cref="FallbackDirectory"/>.</summary>
    public static string Directory()
    {
        foreach (var dir in new[] { PreferredDirectory, FallbackDirectory })
        {
            if (Usable(dir))
            {
                return dir;
            }
        }

        return FallbackDirectory;
    }

    private static bool Usable(string dir)
    {
        try
        {
            if (!System.IO.Directory.Exists(dir) && mkdir(dir, Shared) == 0)
            {
                // The umask took bits off: set them as meant, so every user can create a lock here.
                chmod(dir, Shared);
            }

            // Usable when a lock file can be created here (write and search permission).
            return access(dir, 2 | 1) == 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>The socket's path with every symlink resolved, so two spellings of one socket share a lock.</summary>
    public static string RealPath(string path)
    {
        var buf = new byte[4096];
        IntPtr r = realpath(path, buf);
        if (r == IntPtr.Zero)
        {
            return System.IO.Path.GetFullPath(path);
        }

        int len = Array.IndexOf(buf, (byte)0);
        return Encoding.UTF8.GetString(buf, 0, len < 0 ? buf.Length : len);
    }

    /// <summary>Who holds the duty for (<paramref name="address"/>, <paramref name="namespace"/>) now, from the kernel's lock table; null when nobody does.</summary>
    public static SupervisorHolder? Holder(string address, string @namespace)
    {
        string path = LockPathFor(address, @namespace);
        if (!TryInode(path, out ulong dev, out ulong ino))
        {
            return null;
        }

        int? pid = HolderPid(File.ReadAllLines("/proc/locks"), dev, ino);
        if (pid is not int p)
        {
            return null;
        }

        DateTime? since = null;
        try
        {
            var note = NotePath(path, p);
            if (File.Exists(note))
            {
                since = StateLabels.ParseTime(File.ReadAllText(note).Split('\n')[0]);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }

        return new SupervisorHolder(p, since, path);
    }

    /// <summary>
    /// The pid holding an exclusive FLOCK on (<paramref name="dev"/>, <paramref name="ino"/>) in
    /// /proc/locks lines ("1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF"; "->" lines are waiters).
    /// </summary>
    internal static int? HolderPid(IEnumerable<string> procLocks, ulong dev, ulong ino)
    {
        string id = $"{Major(dev):x2}:{Minor(dev):x2}:{ino}";
        foreach (var line in procLocks)
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length >= 6 && f[1] == "FLOCK" && f[3] == "WRITE" && string.Equals(f[5], id, StringComparison.OrdinalIgnoreCase)
                && int.TryParse(f[4], NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
            {
                return pid;
            }
        }

        return null;
    }

    private static ulong Major(ulong dev) => ((dev >> 8) & 0xfff) | ((dev >> 32) & ~0xfffUL);

    private static ulong Minor(ulong dev) => (dev & 0xff) | ((dev >> 12) & ~0xffUL);

    private static string NotePath(string lockPath, int pid) => lockPath + "." + pid.ToString(CultureInfo.InvariantCulture) + ".holder";

    /// <summary>A note beside the lock saying since when this process holds it (the lock file itself is opened read-only).</summary>
    private void WriteHolderNote()
    {
        try
        {
            File.WriteAllText(NotePath(FilePath, Environment.ProcessId), $"{StateLabels.FormatTime(Since!.Value)}\n{Address}\n{Namespace}\n");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _log($"restart supervisor: cannot write the holder note beside {FilePath}: {e.Message}");
        }

        // Notes of holders that died (kill -9): best effort, only our own files can be removed from a sticky folder.
        try
        {
            foreach (var stale in System.IO.Directory.EnumerateFiles(System.IO.Path.GetDirectoryName(FilePath)!, System.IO.Path.GetFileName(FilePath) + ".*.holder"))
            {
                var pidText = System.IO.Path.GetFileName(stale)[(System.IO.Path.GetFileName(FilePath).Length + 1)..^".holder".Length];
                if (int.TryParse(pidText, NumberStyles.None, CultureInfo.InvariantCulture, out int p) && p != Environment.ProcessId && !System.IO.Directory.Exists($"/proc/{p}"))
                {
                    File.Delete(stale);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    public void Dispose()
    {
        bool close;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            // Not held and a thread is blocked on the descriptor: that thread closes it when it returns.
            close = _held || _waiter is null;
        }

        if (close && _fd >= 0)
        {
            NativeMethods.close(_fd);
            try
            {
                File.Delete(NotePath(FilePath, Environment.ProcessId));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }
    }

    private static bool TryInode(string path, out ulong dev, out ulong ino)
    {
        // struct stat on x86_64: st_dev at 0, st_ino at 8; 144 bytes.
        var buf = new byte[256];
        dev = ino = 0;
        if (stat(path, buf) != 0)
        {
            return false;
        }

        dev = BitConverter.ToUInt64(buf, 0);
        ino = BitConverter.ToUInt64(buf, 8);
        return true;
    }

    [DllImport("libc", SetLastError = true)]
    private static extern IntPtr realpath([MarshalAs(UnmanagedType.LPUTF8Str)] string path, byte[] resolved);

    [DllImport("libc", SetLastError = true)]
    private static extern int stat([MarshalAs(UnmanagedType.LPUTF8Str)] string path, byte[] buf);

    [DllImport("libc", SetLastError = true)]
    private static extern int mkdir([MarshalAs(UnmanagedType.LPUTF8Str)] string path, uint mode);

    [DllImport("libc", SetLastError = true)]
    private static extern int chmod([MarshalAs(UnmanagedType.LPUTF8Str)] string path, uint mode);

    [DllImport("libc", SetLastError = true)]
    private static extern int access([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int mode);
}

/// <summary>The process that holds a restart duty, as the kernel's lock table says.</summary>
internal sealed record SupervisorHolder(int ProcessId, DateTime? Since, string LockPath);
