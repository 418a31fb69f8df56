using System.Globalization;
using System.Runtime.InteropServices;

namespace PSContainerd.Engine;

/// <summary>
/// The folder of the restart duty's lock files, and the trust it must earn before anything in it
/// is opened: a real folder (not a link), owned by <see cref="Owner"/>, that neither group nor
/// others may write. So no other local user can plant a link, hold a lock file, or remove one.
/// root's folder is <see cref="RootPath"/> (only root can create entries in /run); a non-root
/// caller shares it for a socket root owns (opening the files root made, never creating one),
/// and uses a folder of its own for a socket it owns (rootless containerd). See docs/supervisor.md.
/// </summary>
internal sealed class LockFolder
{
    /// <summary>root's lock folder: created 0755 in /run, where no other user can create it first.</summary>
    public const string RootPath = "/run/pscontainerd";

    /// <summary>rwxr-xr-x: others may enter (to open the lock files their group may write), never write.</summary>
    private const uint FolderMode = 0b111_101_101;

    public LockFolder(string path, uint owner, bool ours)
    {
        Path = path;
        Owner = owner;
        Ours = ours;
    }

    public string Path { get; }

    /// <summary>Who must own the folder and its lock files.</summary>
    public uint Owner { get; }

    /// <summary>Whether this process may create (and remove) lock files here: it runs as <see cref="Owner"/>.</summary>
    public bool Ours { get; }

    /// <summary>
    /// The folder for the lock of a socket owned by <paramref name="socketOwner"/>, as this process
    /// sees it; null (with the reason) when this process has none it may use.
    /// </summary>
    public static LockFolder? For(uint socketOwner, out string? refusal)
    {
        refusal = null;
        uint me = FileCalls.EffectiveUid;
        if (me == 0 || socketOwner == 0)
        {
            return new LockFolder(RootPath, 0, me == 0);
        }

        if (socketOwner == me)
        {
            return new LockFolder(UserPath(me), me, true);
        }

        refusal = $"the socket belongs to uid {socketOwner}: only that user or root may hold its restart duty";
        return null;
    }

    /// <summary>A non-root user's own folder: under $XDG_RUNTIME_DIR (0700, the user's own), else /tmp/pscontainerd-&lt;uid&gt;.</summary>
    public static string UserPath(uint uid) =>
        Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR") is { Length: > 0 } xdg && System.IO.Path.IsPathRooted(xdg)
            ? System.IO.Path.Combine(xdg, "pscontainerd")
            : System.IO.Path.Combine("/tmp", "pscontainerd-" + uid.ToString(CultureInfo.InvariantCulture));

    /// <summary>
    /// Opens the folder (creating it when it is ours and missing) without following a link, and
    /// checks what was opened; -1 with the reason when it cannot be trusted or opened. Close the result.
    /// </summary>
    public int Open(out string? refusal) => Open(out refusal, out _);

    /// <param name="untrusted">True when the folder is there but not safe to use (a link, another owner, writable by others).</param>
    public int Open(out string? refusal, out bool untrusted)
    {
        untrusted = false;
        if (Ours && FileCalls.mkdir(Path, FolderMode) != 0 && Marshal.GetLastWin32Error() is int e && e != FileCalls.EEXIST)
        {
            refusal = $"cannot create the lock folder {Path}: errno {e}";
            return -1;
        }

        int fd = FileCalls.openat(-100 /* AT_FDCWD */, Path, FileCalls.O_RDONLY | FileCalls.O_DIRECTORY | FileCalls.O_NOFOLLOW | FileCalls.O_CLOEXEC, 0);
        if (fd < 0)
        {
            int errno = Marshal.GetLastWin32Error();
            if (errno is FileCalls.ELOOP or 20 /* ENOTDIR: what O_DIRECTORY answers for a link */ && FileCalls.StatAt(-100, Path) is { Type: 0xa000 })
            {
                errno = FileCalls.ELOOP;
            }

            untrusted = errno is FileCalls.ELOOP or 20;
            refusal = errno switch
            {
                FileCalls.ELOOP => $"the lock folder {Path} is a link; refusing it",
                FileCalls.ENOENT => $"the lock folder {Path} does not exist yet (a process running as uid {Owner} creates it)",
                20 /* ENOTDIR */ => $"the lock folder {Path} is not a folder; refusing it",
                _ => $"cannot open the lock folder {Path}: errno {errno}",
            };
            return -1;
        }

        refusal = Untrusted(FileCalls.StatFd(fd));
        if (refusal is not null)
        {
            untrusted = true;
            NativeMethods.close(fd);
            return -1;
        }

        return fd;
    }

    private string? Untrusted(FileCalls.Stat? st)
    {
        if (st is not { } s)
        {
            return $"cannot read the lock folder {Path}";
        }

        if (s.Type != FileCalls.S_IFDIR)
        {
            return $"the lock folder {Path} is not a folder; refusing it";
        }

        if (s.Uid != Owner)
        {
            return $"the lock folder {Path} belongs to uid {s.Uid}, not uid {Owner}: another user could plant links or hold the lock there; refusing it (remove it, and the module creates it safely)";
        }

        if ((s.Permissions & 0b000_010_010) != 0)
        {
            return $"the lock folder {Path} has mode {Convert.ToString(s.Permissions, 8)}: group or others may write to it; refusing it (chmod 0755 it, or remove it)";
        }

        return null;
    }
}
