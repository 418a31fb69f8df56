using System.Runtime.InteropServices;
using System.Text;

namespace PSContainerd.Engine;

/// <summary>
/// The stdout and stderr of an exec: two FIFOs in a folder of their own that only the caller can
/// enter (mkdtemp, mode 0700), so no other user can open, replace or redirect them. containerd's
/// shim opens their write ends when the process starts and copies its output into them; a reader
/// thread per FIFO collects what comes.
///
/// Each FIFO is opened for reading and also for writing by this process, non-blocking: the read end
/// never waits for the shim, and the pipe never reads as ended before the shim has opened it. The
/// write end is closed by <see cref="FinishAsync"/>, after containerd has deleted the process
/// (so the shim has closed its end): from then on the readers see the end of the output once it is
/// drained, bounded by <paramref name="drainBound"/> for output held open by a process the exec left
/// running in the background.
/// </summary>
internal sealed class ExecPipes : IDisposable
{
    /// <summary>Per stream: a runaway command cannot exhaust the session's memory.</summary>
    public const int CaptureLimit = 8 * 1024 * 1024;

    private readonly string _folder;
    private readonly Reader _out;
    private readonly Reader _err;

    private ExecPipes(string folder, Reader stdout, Reader stderr)
    {
        _folder = folder;
        _out = stdout;
        _err = stderr;
    }

    public string StdoutPath => _out.Path;

    public string StderrPath => _err.Path;

    /// <summary>Makes the folder and both FIFOs and starts reading them.</summary>
    public static ExecPipes Open()
    {
        var folder = Directory.CreateTempSubdirectory("pscontainerd-exec-").FullName;
        try
        {
            var stdout = Reader.Open(Path.Combine(folder, "stdout"));
            try
            {
                return new ExecPipes(folder, stdout, Reader.Open(Path.Combine(folder, "stderr")));
            }
            catch
            {
                stdout.Dispose();
                throw;
            }
        }
        catch
        {
            Directory.Delete(folder, recursive: true);
            throw;
        }
    }

    /// <summary>Ends the capture (see the class summary) and answers (stdout, stderr).</summary>
    public async Task<(string Output, string Error)> FinishAsync(TimeSpan drainBound)
    {
        _out.CloseWriter();
        _err.CloseWriter();
        var deadline = Task.Delay(drainBound);
        await Task.WhenAny(Task.WhenAll(_out.Done, _err.Done), deadline).ConfigureAwait(false);
        return (_out.Text(), _err.Text());
    }

    public void Dispose()
    {
        _out.Dispose();
        _err.Dispose();
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private sealed class Reader : IDisposable
    {
        private const int O_RDONLY = 0, O_WRONLY = 1, O_NONBLOCK = 0x800, O_CLOEXEC = 0x80000, O_NOFOLLOW = 0x20000;
        private const short POLLIN = 0x1;
        private const int EAGAIN = 11, EINTR = 4;

        private readonly MemoryStream _data = new();
        private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _readFd;
        private int _writeFd;
        private volatile bool _stopping;
        private bool _truncated;

        private Reader(string path, int readFd, int writeFd)
        {
            Path = path;
            _readFd = readFd;
            _writeFd = writeFd;
            new Thread(Pump) { IsBackground = true, Name = "pscontainerd exec output" }.Start();
        }

        public string Path { get; }

        public Task Done => _done.Task;

        public static Reader Open(string path)
        {
            if (mkfifo(path, 0b110_000_000) != 0)
            {
                throw new IOException($"cannot make the FIFO {path}: errno {Marshal.GetLastWin32Error()}");
            }

            int r = NativeMethods.open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW, 0);
            if (r < 0)
            {
                throw new IOException($"cannot open the FIFO {path}: errno {Marshal.GetLastWin32Error()}");
            }

            int w = NativeMethods.open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW, 0);
            if (w < 0)
            {
                int errno = Marshal.GetLastWin32Error();
                NativeMethods.close(r);
                throw new IOException($"cannot open the FIFO {path}: errno {errno}");
            }

            return new Reader(path, r, w);
        }

        public void CloseWriter()
        {
            int w = Interlocked.Exchange(ref _writeFd, -1);
            if (w >= 0)
            {
                NativeMethods.close(w);
            }
        }

        public string Text()
        {
            lock (_data)
            {
                var text = Encoding.UTF8.GetString(_data.GetBuffer(), 0, (int)_data.Length);
                return _truncated ? text + $"{Environment.NewLine}(output cut at {CaptureLimit / (1024 * 1024)} MiB)" : text;
            }
        }

        public void Dispose()
        {
            _stopping = true;
            CloseWriter();
            // The reader thread closes the read end itself once it sees _stopping (within a poll
            // interval): closing it here could hand its number to another open meanwhile.
        }

        private unsafe void Pump()
        {
            var buffer = new byte[64 * 1024];
            try
            {
                while (!_stopping)
                {
                    var pfd = new NativeMethods.PollFd { Fd = _readFd, Events = POLLIN };
                    int ready = NativeMethods.poll(ref pfd, 1, 100);
                    if (ready <= 0)
                    {
                        continue; // timeout, or EINTR
                    }

                    long n;
                    fixed (byte* p = buffer)
                    {
                        n = read(_readFd, p, buffer.Length);
                    }

                    if (n == 0)
                    {
                        return; // every writer has closed: the end of the output
                    }

                    if (n < 0)
                    {
                        int errno = Marshal.GetLastWin32Error();
                        if (errno is EAGAIN or EINTR)
                        {
                            continue;
                        }

                        return;
                    }

                    lock (_data)
                    {
                        int room = CaptureLimit - (int)_data.Length;
                        _data.Write(buffer, 0, (int)Math.Min(n, Math.Max(room, 0)));
                        _truncated |= n > room;
                    }
                }
            }
            finally
            {
                NativeMethods.close(_readFd);
                _readFd = -1;
                _done.TrySetResult();
            }
        }

        [DllImport("libc", SetLastError = true)]
        private static extern int mkfifo([MarshalAs(UnmanagedType.LPUTF8Str)] string path, uint mode);

        [DllImport("libc", SetLastError = true)]
        private static extern unsafe long read(int fd, byte* buf, long count);
    }
}
