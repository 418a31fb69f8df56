using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace PSContainerd.Engine;

/// <summary>
/// A short lock on one container across processes, for the one decision two processes can race
/// on: the restart supervisor's "not stopped by hand, so start it" against another process's
/// "record the manual stop, and the container is not running". The holder keeps it from its
/// last read of the labels until the new task runs; a stop that finds a restart pending elsewhere
/// keeps it from its label write until it has looked at the task. So either the supervisor reads
/// the manual stop and leaves the container alone, or the stop finds the task the restart made
/// and stops it: a stop never answers RestartCancelled while a restart it did not see goes on.
/// <para>
/// <c>flock(LOCK_EX | LOCK_NB)</c>, polled (no thread blocked, the wait is bounded and
/// cancellable) on one of <see cref="Stripes"/> files per (socket, namespace) beside the
/// supervisor lock, picked by a hash of the container id: a fixed number of files, and two
/// containers that share one only wait for each other's short hold. Read-only descriptors, as
/// the supervisor lock: a user who reaches the socket through its group can take it.
/// </para>
/// </summary>
internal sealed class ContainerLock
{
    /// <summary>Lock files per (socket, namespace).</summary>
    public const int Stripes = 64;

    /// <summary>How long a caller waits at most: a restart's task create and start, on a loaded host.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    private readonly string _prefix;

    public ContainerLock(string address, string @namespace)
    {
        // <supervisor lock without ".lock">.c<NN>.lock: beside the duty's lock, never matching its holder notes.
        string duty = SupervisorLock.LockPathFor(address, @namespace);
        _prefix = duty[..^".lock".Length];
    }

    /// <summary>The lock file for <paramref name="id"/>.</summary>
    public string PathFor(string id)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(id));
        int stripe = (int)(BitConverter.ToUInt32(hash, 0) % Stripes);
        return $"{_prefix}.c{stripe:d2}.lock";
    }

    /// <summary>
    /// Takes the lock on <paramref name="id"/>, waiting at most <paramref name="timeout"/>; null when
    /// it could not be had in time (or the file cannot be opened): the caller decides what is safe.
    /// Dispose the result to release it (process exit releases it too).
    /// </summary>
    public async Task<IDisposable?> AcquireAsync(string id, TimeSpan timeout, CancellationToken ct = default)
    {
        string path = PathFor(id);
        int fd = NativeMethods.open(path, NativeMethods.O_RDONLY | NativeMethods.O_CREAT | NativeMethods.O_CLOEXEC, 0b110_100_100);
        if (fd < 0)
        {
            return null;
        }

        var clock = Stopwatch.StartNew();
        var pause = TimeSpan.FromMilliseconds(2);
        try
        {
            while (true)
            {
                if (NativeMethods.flock(fd, NativeMethods.LOCK_EX | NativeMethods.LOCK_NB) == 0)
                {
                    var held = new Held(fd);
                    fd = -1;
                    return held;
                }

                int errno = Marshal.GetLastWin32Error();
                if ((errno != NativeMethods.EWOULDBLOCK && errno != NativeMethods.EINTR) || clock.Elapsed >= timeout)
                {
                    return null;
                }

                await Task.Delay(pause, ct).ConfigureAwait(false);
                pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, TimeSpan.FromMilliseconds(20).Ticks));
            }
        }
        finally
        {
            if (fd >= 0)
            {
                NativeMethods.close(fd);
            }
        }
    }

    /// <summary>The held lock: closing the descriptor releases it.</summary>
    private sealed class Held : IDisposable
    {
        private int _fd;

        public Held(int fd) => _fd = fd;

        public void Dispose()
        {
            int fd = Interlocked.Exchange(ref _fd, -1);
            if (fd >= 0)
            {
                NativeMethods.close(fd);
            }
        }
    }
}
