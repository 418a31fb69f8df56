using System.Runtime.InteropServices;

namespace PSContainerd.Engine;

/// <summary>
/// A pidfd on a container's init process, opened while containerd says it runs and checked to be
/// in the container's cgroup. Signalling through it cannot hit a process that reused the pid
/// (crun#1200, containerd#5630), unlike dockerd's kill(2) on a cached pid.
/// </summary>
public sealed class InitProcessHandle : IDisposable
{
    private int _fd;

    private InitProcessHandle(int pid, int fd, bool leadsPidNamespace)
    {
        Pid = pid;
        _fd = fd;
        LeadsPidNamespace = leadsPidNamespace;
    }

    public int Pid { get; }

    /// <summary>
    /// Whether the process is PID 1 of a pid namespace of its own (the last NSpid entry of
    /// /proc/PID/status is 1): when it dies the kernel kills every other process in that
    /// namespace, so a SIGKILL to it alone ends the container. A container that shares a pid
    /// namespace (or the host's) keeps its other processes.
    /// </summary>
    public bool LeadsPidNamespace { get; }

    internal int Fd => _fd;

    /// <summary>
    /// Opens a pidfd on <paramref name="pid"/> if it still belongs to container
    /// <paramref name="containerId"/> (its whole cgroup path) and, when <paramref name="startedBy"/>
    /// is known, started no later than that (a process that took the pid afterwards did not);
    /// else null with why.
    /// </summary>
    public static InitProcessHandle? Open(int pid, string @namespace, string containerId, out string why, DateTime? startedBy = null)
    {
        why = string.Empty;
        if (pid <= 0)
        {
            why = "no pid";
            return null;
        }

        int fd = NativeMethods.PidfdOpen(pid);
        if (fd < 0)
        {
            why = $"pidfd_open({pid}) failed: errno {Marshal.GetLastWin32Error()}";
            return null;
        }

        // Checked after opening: the pidfd pins the process, so a match now cannot go stale.
        if (!BelongsTo(pid, @namespace, containerId))
        {
            NativeMethods.close(fd);
            why = $"pid {pid} is not in container {containerId}'s cgroup";
            return null;
        }

        if (startedBy is DateTime latest && StartedAt(pid) is DateTime started && started > latest + StartSlack)
        {
            NativeMethods.close(fd);
            why = $"pid {pid} started at {started:HH:mm:ss.fff}, after the container's init ({latest:HH:mm:ss.fff}): the pid was reused";
            return null;
        }

        return new InitProcessHandle(pid, fd, LeadsNamespace(pid));
    }

    private static bool LeadsNamespace(int pid)
    {
        try
        {
            return ParseLeadsPidNamespace(File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("NSpid:", StringComparison.Ordinal)));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>"NSpid:\t4711\t1": the pid in every namespace from the outermost in; true when there are several and the innermost is 1.</summary>
    internal static bool ParseLeadsPidNamespace(string? nspidLine)
    {
        var ids = nspidLine?.Split(new[] { '\t', ' ' }, StringSplitOptions.RemoveEmptyEntries);
        return ids is { Length: > 2 } && ids[^1] == "1";
    }

    /// <summary>Clock ticks are 10 ms and btime has whole seconds: a margin for both.</summary>
    private static readonly TimeSpan StartSlack = TimeSpan.FromSeconds(2);

    /// <summary>When <paramref name="pid"/> started, in UTC: /proc/PID/stat field 22 after boot (btime in /proc/stat).</summary>
    public static DateTime? StartedAt(int pid)
    {
        if (ProcessIdentity.Of(pid)?.StartTicks is not ulong ticks)
        {
            return null;
        }

        try
        {
            var btime = File.ReadLines("/proc/stat").FirstOrDefault(l => l.StartsWith("btime ", StringComparison.Ordinal));
            if (btime is null || !long.TryParse(btime[6..].Trim(), out long boot))
            {
                return null;
            }

            long hz = NativeMethods.sysconf(NativeMethods._SC_CLK_TCK);
            return DateTime.UnixEpoch.AddSeconds(boot).AddSeconds((double)ticks / (hz > 0 ? hz : 100));
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>Whether /proc/PID/cgroup names the container by a whole path segment (see <see cref="CgroupMatch"/>).</summary>
    public static bool BelongsTo(int pid, string @namespace, string containerId)
    {
        try
        {
            return CgroupMatch.Names(File.ReadAllText($"/proc/{pid}/cgroup"), @namespace, containerId);
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>
    /// Sends <paramref name="signal"/> to exactly this process (pidfd_send_signal: what <c>runc kill</c>
    /// does for the init process, without the RPC and the runc exec). 0 when delivered, else the
    /// errno: ESRCH once the process has exited and been reaped, EPERM when refused.
    /// </summary>
    public int Send(int signal)
    {
        int fd = Volatile.Read(ref _fd);
        if (fd < 0)
        {
            return NativeMethods.EBADF;
        }

        return NativeMethods.PidfdSendSignal(fd, signal) == 0 ? 0 : Marshal.GetLastWin32Error();
    }

    /// <summary>Whether <paramref name="errno"/> from <see cref="Send"/> is a refusal (a security module, as for runc's kill(2): moby#36809, #47720).</summary>
    public static bool IsRefusal(int errno) => errno is NativeMethods.EPERM or NativeMethods.EACCES;

    /// <summary>An errno of <see cref="Send"/> in words.</summary>
    public static string Describe(int errno) => errno switch
    {
        NativeMethods.ESRCH => "process already exited",
        NativeMethods.EPERM => "refused (EPERM)",
        NativeMethods.EACCES => "refused (EACCES)",
        NativeMethods.EBADF => "handle closed",
        _ => $"pidfd_send_signal failed: errno {errno}",
    };

    /// <summary>
    /// Whether the process has exited (a zombie counts: its parent, the shim, may be hung and not
    /// reap it). Asks the kernel now (poll on the pidfd), unlike a watch that may have fired earlier.
    /// </summary>
    public bool HasExited
    {
        get
        {
            int fd = Volatile.Read(ref _fd);
            if (fd < 0)
            {
                return false;
            }

            var p = new NativeMethods.PollFd { Fd = fd, Events = NativeMethods.EPOLLIN };
            return NativeMethods.poll(ref p, 1, 0) > 0 && p.Revents != 0;
        }
    }

    /// <summary>What the kernel says the process is doing: its state line and wait channel.</summary>
    public static string Diagnose(int pid)
    {
        try
        {
            string state = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("State:", StringComparison.Ordinal))?[6..].Trim() ?? "?";
            string wchan = File.Exists($"/proc/{pid}/wchan") ? File.ReadAllText($"/proc/{pid}/wchan").Trim() : "?";
            return $"pid {pid} state {state}, wchan {(wchan is "" or "0" ? "-" : wchan)}";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"pid {pid} is gone from /proc";
        }
    }

    public void Dispose()
    {
        int fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0)
        {
            PidfdWatcher.Shared.Forget(fd);
            NativeMethods.close(fd);
        }
    }
}
