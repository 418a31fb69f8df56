using System.Runtime.InteropServices;

namespace PSContainerd.Bench;

/// <summary>
/// A stop sent before the shell installed its trap is dropped by the kernel (PID 1 without a
/// handler) and would measure the grace period instead of the stop: wait for SIGTERM's bit in
/// SigCgt. Then wait for the shell to block in `wait` (wchan sigsuspend): busybox sh loses a trapped
/// signal that lands between `sleep &` and its `wait` (the trap runs only when `wait` returns,
/// 1000 s later), which a signal sent within microseconds of the trap (pidfd) can hit.
/// </summary>
internal static class Trap
{
    public static async Task Wait(uint pid, IEnumerable<string> command)
    {
        const ulong term = 1UL << (15 - 1);
        if (pid == 0 || !command.Any(a => a.Contains("trap", StringComparison.Ordinal)))
        {
            return;
        }

        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            string? line = null;
            try
            {
                line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("SigCgt:", StringComparison.Ordinal));
            }
            catch (IOException)
            {
            }

            if (line is null || ((Convert.ToUInt64(line[7..].Trim(), 16) & term) != 0 && Waiting(pid)))
            {
                return;
            }

            await Task.Delay(5);
        }

        throw new TimeoutException($"pid {pid} never installed its trap");
    }

    private static bool Waiting(uint pid)
    {
        try
        {
            var wchan = File.ReadAllText($"/proc/{pid}/wchan");
            return wchan.Contains("sigsuspend", StringComparison.Ordinal) || wchan.Contains("wait", StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return true; // gone: nothing to wait for
        }
    }
}

/// <summary>pidfd_open + pidfd_send_signal (x86_64 syscall numbers), the bench's direct signal.</summary>
internal static class Pidfd
{
    [DllImport("libc", SetLastError = true)]
    private static extern long syscall(long number, long a1, long a2, long a3, long a4);

    [DllImport("libc", SetLastError = true)]
    private static extern int close(int fd);

    public static void Signal(int pid, int signal)
    {
        int fd = (int)syscall(434, pid, 0, 0, 0);
        if (fd < 0)
        {
            throw new InvalidOperationException($"pidfd_open({pid}) failed: errno {Marshal.GetLastPInvokeError()}");
        }

        try
        {
            if (syscall(424, fd, signal, 0, 0) != 0)
            {
                throw new InvalidOperationException($"pidfd_send_signal({pid}) failed: errno {Marshal.GetLastPInvokeError()}");
            }
        }
        finally
        {
            close(fd);
        }
    }
}

internal static class Posix
{
    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SysKill(int pid, int signal);

    public static void Kill(int pid, int signal) => SysKill(pid, signal);
}
