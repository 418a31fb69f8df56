using System.Runtime.InteropServices;

namespace PSContainerd.Engine;

/// <summary>
/// The one lock file of a (socket, namespace), open read-write in its checked <see cref="LockFolder"/>:
/// its <c>flock</c> is the restart duty, ranges of it are the per-container locks
/// (<see cref="ContainerLock"/>), and its first bytes are the holder's heartbeat. Named after the
/// socket's (st_dev, st_ino), so every path to one socket (link, hard link, bind mount) names one
/// file, and a socket that does not exist names none. Created writable by its owner only, plus the
/// socket's group when that group may use the socket: taking a lock needs the socket's access,
/// not read access to a file.
/// </summary>
internal sealed class LockFile : IDisposable
{
    private LockFile(int dirFd, int fd, string name, LockFolder folder, FileCalls.Stat socket)
    {
        DirFd = dirFd;
        Fd = fd;
        Name = name;
        Folder = folder;
        Socket = socket;
    }

    public int DirFd { get; private set; }

    public int Fd { get; private set; }

    public string Name { get; }

    public LockFolder Folder { get; }

    /// <summary>The socket as it was when the file was opened: its (Dev, Ino) is the key.</summary>
    public FileCalls.Stat Socket { get; }

    public string Path => System.IO.Path.Combine(Folder.Path, Name);

    /// <summary>The file's name for (<paramref name="socket"/>, <paramref name="namespace"/>).</summary>
    public static string NameFor(FileCalls.Stat socket, string @namespace)
    {
        var hash = LockNameHash.Of($"{socket.Dev}:{socket.Ino}\0{@namespace}");
        return Convert.ToHexString(hash)[..32].ToLowerInvariant() + ".lock";
    }

    /// <summary>The socket at <paramref name="address"/> (links followed); null, with the reason, when there is none.</summary>
    public static FileCalls.Stat? SocketAt(string address, out string? problem)
    {
        problem = null;
        var st = FileCalls.StatPath(address);
        if (st is not { } s)
        {
            problem = $"no socket at {address}";
            return null;
        }

        if (s.Type != FileCalls.S_IFSOCK)
        {
            problem = $"{address} is not a socket";
            return null;
        }

        return s;
    }

    /// <summary>The folder and the file's path for (<paramref name="address"/>, <paramref name="namespace"/>), without opening anything; null with the reason.</summary>
    public static (LockFolder Folder, string Name, FileCalls.Stat Socket)? Locate(string address, string @namespace, string? folderOverride, out string? problem)
    {
        if (SocketAt(address, out problem) is not { } socket)
        {
            return null;
        }

        var folder = folderOverride is not null ? new LockFolder(folderOverride, FileCalls.EffectiveUid, true) : LockFolder.For(socket.Uid, out problem);
        return folder is null ? null : (folder, NameFor(socket, @namespace), socket);
    }

    /// <summary>
    /// Opens the lock file of (<paramref name="address"/>, <paramref name="namespace"/>) read-write,
    /// creating it when the folder is ours; never through a link. Null with the reason when the
    /// socket is missing, the folder untrusted, the file not ours to create yet, or not writable by us.
    /// </summary>
    public static LockFile? Open(string address, string @namespace, string? folderOverride, out string? problem)
    {
        if (Locate(address, @namespace, folderOverride, out problem) is not var (folder, name, socket))
        {
            return null;
        }

        int dir = folder.Open(out problem);
        if (dir < 0)
        {
            return null;
        }

        int fd = OpenIn(dir, folder, name, socket, out problem);
        if (fd < 0)
        {
            NativeMethods.close(dir);
            return null;
        }

        return new LockFile(dir, fd, name, folder, socket);
    }

    private static int OpenIn(int dir, LockFolder folder, string name, FileCalls.Stat socket, out string? problem)
    {
        problem = null;
        const int flags = FileCalls.O_RDWR | FileCalls.O_NOFOLLOW | FileCalls.O_CLOEXEC;
        // The socket's group may take the locks only when it may use the socket (connect needs write).
        bool group = (socket.Permissions & 0b000_010_000) != 0;
        if (folder.Ours)
        {
            int made = FileCalls.openat(dir, name, flags | FileCalls.O_CREAT | FileCalls.O_EXCL, 0b110_000_000);
            if (made >= 0)
            {
                if (group && FileCalls.fchown(made, -1, (int)socket.Gid) == 0)
                {
                    FileCalls.fchmod(made, 0b110_110_000);
                }

                return made;
            }

            if (Marshal.GetLastWin32Error() != FileCalls.EEXIST)
            {
                problem = $"cannot create the lock file {name} in {folder.Path}: errno {Marshal.GetLastWin32Error()}";
                return -1;
            }
        }

        int fd = FileCalls.openat(dir, name, flags, 0);
        if (fd < 0)
        {
            int errno = Marshal.GetLastWin32Error();
            problem = errno switch
            {
                FileCalls.ELOOP => $"the lock file {name} in {folder.Path} is a link; not following it",
                FileCalls.ENOENT => $"no lock file for this socket in {folder.Path} yet: a process running as uid {folder.Owner} creates it",
                FileCalls.EACCES => $"the lock file {name} in {folder.Path} is not writable by this user (only by its owner and the socket's group)",
                _ => $"cannot open the lock file {name} in {folder.Path}: errno {errno}",
            };
            return -1;
        }

        // Only the folder's owner can make entries there; a file of anyone else's, a hard link or anything but a file is refused.
        if (FileCalls.StatFd(fd) is not { Type: FileCalls.S_IFREG, Nlink: 1 } st || st.Uid != folder.Owner)
        {
            NativeMethods.close(fd);
            problem = $"the lock file {name} in {folder.Path} is not a plain file of uid {folder.Owner}; refusing it";
            return -1;
        }

        return fd;
    }

    /// <summary>Whether the open file is still the one the folder names (a lock taken on a removed file is no lock).</summary>
    public bool StillNamed() =>
        FileCalls.StatFd(Fd) is { } mine && FileCalls.StatAt(DirFd, Name) is { } named && mine.Dev == named.Dev && mine.Ino == named.Ino;

    /// <summary>
    /// Removes the file when nobody holds any lock on it (the duty, or a container's range): taken
    /// exclusively first, so whoever opened it before sees <see cref="StillNamed"/> false once
    /// they lock, and opens the new one. Only in a folder of ours. The file stays open.
    /// </summary>
    public bool RemoveIfUnused()
    {
        if (!Folder.Ours
            || (NativeMethods.flock(Fd, NativeMethods.LOCK_EX | NativeMethods.LOCK_NB) != 0)
            || FileCalls.TryLockRange(Fd, 0, 0) != 0
            || !StillNamed())
        {
            return false;
        }

        return FileCalls.unlinkat(DirFd, Name, 0) == 0;
    }

    /// <summary>Removes, from a folder of ours, every other lock file nobody holds (a socket re-created since, a namespace nobody uses now).</summary>
    public void RemoveOthersUnused()
    {
        if (!Folder.Ours)
        {
            return;
        }

        try
        {
            foreach (var path in Directory.EnumerateFiles(Folder.Path, "*.lock"))
            {
                string name = System.IO.Path.GetFileName(path);
                if (name == Name)
                {
                    continue;
                }

                int fd = FileCalls.openat(DirFd, name, FileCalls.O_RDWR | FileCalls.O_NOFOLLOW | FileCalls.O_CLOEXEC, 0);
                if (fd < 0)
                {
                    continue;
                }

                using var other = new LockFile(FileCalls.openat(DirFd, ".", FileCalls.O_RDONLY | FileCalls.O_DIRECTORY | FileCalls.O_CLOEXEC, 0), fd, name, Folder, Socket);
                if (FileCalls.StatFd(fd) is { Type: FileCalls.S_IFREG })
                {
                    other.RemoveIfUnused();
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort: a file left is one file, recreated or removed at the next sweep.
        }
    }

    public void Dispose()
    {
        if (Fd >= 0)
        {
            NativeMethods.close(Fd);
            Fd = -1;
        }

        if (DirFd >= 0)
        {
            NativeMethods.close(DirFd);
            DirFd = -1;
        }
    }
}
