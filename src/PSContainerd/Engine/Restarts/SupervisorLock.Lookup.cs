using System.Globalization;

namespace PSContainerd.Engine;

/// <summary>Looking at a duty from outside: where its lock is, who holds it (the kernel's lock table) and whether the holder still beats.</summary>
internal sealed partial class SupervisorLock
{
    /// <summary>Where the lock for (<paramref name="address"/>, <paramref name="namespace"/>) lives; null when there is no socket there (or no folder this user may use).</summary>
    public static string? LockPathFor(string address, string @namespace, string? folder = null) =>
        LockFile.Locate(address, @namespace, folder, out _) is { } at ? System.IO.Path.Combine(at.Folder.Path, at.Name) : null;

    /// <summary>Who holds the duty for (<paramref name="address"/>, <paramref name="namespace"/>) now, from the kernel's lock table; null when nobody does.</summary>
    public static SupervisorHolder? Holder(string address, string @namespace, string? folder = null) => Look(address, @namespace, folder).Holder;

    /// <summary>The lock's path, why this process could not use it (null when it could), and its holder.</summary>
    public static SupervisorLookup Look(string address, string @namespace, string? folder = null)
    {
        if (LockFile.Locate(address, @namespace, folder, out string? problem) is not { } at)
        {
            return new SupervisorLookup(null, problem, null);
        }

        string path = System.IO.Path.Combine(at.Folder.Path, at.Name);
        int dir = at.Folder.Open(out problem, out bool untrusted);
        if (dir < 0)
        {
            return new SupervisorLookup(path, problem, null, untrusted);
        }

        try
        {
            if (FileCalls.StatAt(dir, at.Name) is not { Type: FileCalls.S_IFREG } st
                || HolderPid(File.ReadAllLines("/proc/locks"), st.Dev, st.Ino) is not int pid)
            {
                return new SupervisorLookup(path, null, null);
            }

            var record = HeartbeatRecord.Read(dir, at.Name);
            bool? responding = record is { } r && r.ProcessId == pid ? MonotonicMs() - r.BeatMs <= StaleAfter.TotalMilliseconds : null;
            return new SupervisorLookup(path, null, new SupervisorHolder(pid, record?.ProcessId == pid ? record.Value.Since : null, path, responding));
        }
        finally
        {
            NativeMethods.close(dir);
        }
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
}

/// <summary>The process that holds a restart duty, as the kernel's lock table says; <see cref="Responding"/> from its heartbeat (null when unreadable).</summary>
internal sealed record SupervisorHolder(int ProcessId, DateTime? Since, string LockPath, bool? Responding = null);

/// <summary>What a look at a (socket, namespace)'s duty found: its lock file, why it cannot be used, its holder.</summary>
internal sealed record SupervisorLookup(string? LockPath, string? Problem, SupervisorHolder? Holder, bool UnsafeFolder = false);
