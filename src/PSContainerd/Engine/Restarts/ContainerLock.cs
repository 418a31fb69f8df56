using System.Diagnostics;

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
/// An open-file-description lock (<c>fcntl F_OFD_SETLK</c>, released with the descriptor, as a
/// flock) on one byte of the (socket, namespace)'s <see cref="LockFile"/>, at an offset picked by
/// a hash of the container id, polled (no thread blocked, the wait is bounded and cancellable).
/// One file for the duty and every container (there were 64 stripe files per pair), ranges
/// independent of the duty's flock, and 2^40 offsets, so two containers practically never share
/// one. The file is opened read-write: a user without the socket's access cannot take it.
/// </para>
/// </summary>
internal sealed class ContainerLock
{
    /// <summary>How long a caller waits at most: a restart's task create and start, on a loaded host.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Container locks start past the heartbeat record (the bytes are never written: a lock may lie beyond the end of a file).</summary>
    private const long FirstOffset = 1 << 20;

    private readonly string _address;
    private readonly string _namespace;
    private readonly string? _folder;

    /// <param name="folder">A lock folder of this user's other than the usual one (tests).</param>
    public ContainerLock(string address, string @namespace, string? folder = null)
    {
        _address = address;
        _namespace = @namespace;
        _folder = folder;
    }

    /// <summary>The byte of the lock file that stands for <paramref name="id"/>.</summary>
    public static long OffsetFor(string id)
    {
        var hash = LockNameHash.Of(id);
        return FirstOffset + (long)(BitConverter.ToUInt64(hash, 0) & ((1UL << 40) - 1));
    }

    /// <summary>
    /// Takes the lock on <paramref name="id"/>, waiting at most <paramref name="timeout"/>; null when
    /// it could not be had in time (or the file cannot be opened: no socket, no safe folder, no
    /// access): the caller decides what is safe. Dispose the result to release it (process exit releases it too).
    /// </summary>
    public async Task<IDisposable?> AcquireAsync(string id, TimeSpan timeout, CancellationToken ct = default)
    {
        long offset = OffsetFor(id);
        var clock = Stopwatch.StartNew();
        var pause = TimeSpan.FromMilliseconds(2);
        LockFile? file = null;
        try
        {
            while (true)
            {
                file ??= LockFile.Open(_address, _namespace, _folder, out _);
                if (file is null)
                {
                    return null;
                }

                int errno = FileCalls.TryLockRange(file.Fd, offset, 1);
                if (errno == 0)
                {
                    if (file.StillNamed())
                    {
                        var held = new Held(file);
                        file = null;
                        return held;
                    }

                    // Locked a file removed as unused meanwhile: open the one there now.
                    file.Dispose();
                    file = null;
                    continue;
                }

                // A conflicting lock answers EAGAIN or EACCES (fcntl(2)); anything else will not get better by waiting.
                if ((errno != NativeMethods.EWOULDBLOCK && errno != FileCalls.EACCES && errno != NativeMethods.EINTR) || clock.Elapsed >= timeout)
                {
                    return null;
                }

                await Task.Delay(pause, ct).ConfigureAwait(false);
                pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, TimeSpan.FromMilliseconds(20).Ticks));
            }
        }
        finally
        {
            file?.Dispose();
        }
    }

    /// <summary>The held lock: closing the descriptor releases it.</summary>
    private sealed class Held : IDisposable
    {
        private LockFile? _file;

        public Held(LockFile file) => _file = file;

        public void Dispose() => Interlocked.Exchange(ref _file, null)?.Dispose();
    }
}
