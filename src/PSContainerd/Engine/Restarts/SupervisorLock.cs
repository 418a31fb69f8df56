using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace PSContainerd.Engine;

/// <summary>
/// The restart duty for one (socket, namespace) on this host: an exclusive <c>flock</c> on the
/// pair's <see cref="LockFile"/>, in a folder no other user can write (<see cref="LockFolder"/>).
/// Every engine records exits; only the holder of this lock restarts containers, so two sessions
/// never fight over a restart. The kernel drops the lock when its holder dies, so the duty passes
/// on without expiry or pid-reuse question. Contenders poll (<see cref="Poll"/>) rather than block
/// in flock, so a dispose, a re-created socket (containerd restarted: a new inode, a new key) and a
/// folder that became unsafe are all noticed. The holder renews a heartbeat in the file every
/// <see cref="HeartbeatEvery"/>; one older than <see cref="StaleAfter"/> shows as not responding.
/// See docs/supervisor.md.
/// </summary>
internal sealed partial class SupervisorLock : IDisposable
{
    /// <summary>How often a contender tries the lock: the duty passes on within this (the brief is "within a second").</summary>
    public static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(250);

    public static readonly TimeSpan HeartbeatEvery = TimeSpan.FromSeconds(1);

    /// <summary>A heartbeat older than this means the holder is not running (stopped, frozen, starved).</summary>
    public static readonly TimeSpan StaleAfter = TimeSpan.FromSeconds(5);

    private readonly object _gate = new();
    private readonly Action<string> _log;
    private readonly string? _folder;
    private readonly CancellationTokenSource _stop = new();
    private LockFile? _file;
    private bool _held;
    private bool _disposed;
    private Task? _loop;
    private string? _reported;

    /// <param name="folder">A lock folder of this user's other than the usual one (tests).</param>
    public SupervisorLock(string address, string @namespace, Action<string> log, string? folder = null)
    {
        _log = log;
        _folder = folder;
        Address = address;
        Namespace = @namespace;
    }

    /// <summary>Raised on the polling task each time this engine takes the duty.</summary>
    public event Action? Acquired;

    public string Address { get; }

    public string Namespace { get; }

    /// <summary>Why this engine cannot contend for the duty now (no socket, an unsafe folder, no access); null while it holds or waits.</summary>
    public string? Problem { get; private set; }

    /// <summary>Held, and the socket is still the one the lock is named after (a re-created socket is another key).</summary>
    public bool IsHeld
    {
        get
        {
            lock (_gate)
            {
                return _held && !_disposed && _file is { } f && SameSocket(f);
            }
        }
    }

    public DateTime? Since { get; private set; }

    /// <summary>Starts contending for the duty on a background task unless already started.</summary>
    public void Start()
    {
        lock (_gate)
        {
            if (_loop is not null || _disposed)
            {
                return;
            }

            _loop = Task.Run(RunAsync);
        }
    }

    private async Task RunAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            bool took;
            try
            {
                took = Tick();
            }
            catch (Exception e)
            {
                took = false;
                Report(e.Message);
            }

            if (took)
            {
                try
                {
                    Acquired?.Invoke();
                }
                catch (Exception e)
                {
                    _log($"restart supervisor: taking the duty failed: {e.Message}");
                }
            }

            try
            {
                // The holder only renews its heartbeat: once a second is enough; contenders try more often.
                await Task.Delay(IsHeld ? HeartbeatEvery : Poll, _stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>One look: renew the heartbeat while held, step down when the key changed, else try to take the lock. True when just taken.</summary>
    private bool Tick()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return false;
            }

            if (_held && _file is { } held)
            {
                if (SameSocket(held) && held.StillNamed())
                {
                    Beat(held);
                    return false;
                }

                _log($"restart supervisor: the socket {Address} was re-created (or the lock file removed); contending again under its new key");
                Release(remove: true);
            }

            if (_file is { } f && !(SameSocket(f) && f.StillNamed()))
            {
                Release(remove: true);
            }

            if (_file is null)
            {
                _file = LockFile.Open(Address, Namespace, _folder, out string? problem);
                if (_file is null)
                {
                    Report(problem);
                    return false;
                }
            }

            Report(null);
            if (NativeMethods.flock(_file.Fd, NativeMethods.LOCK_EX | NativeMethods.LOCK_NB) != 0)
            {
                return false;
            }

            if (!_file.StillNamed())
            {
                // Removed as unused between our open and our lock: a lock on a removed file is no lock.
                Release(remove: false);
                return false;
            }

            _held = true;
            Since = DateTime.UtcNow;
            Beat(_file);
            _file.RemoveOthersUnused();
            return true;
        }
    }

    private bool SameSocket(LockFile f) =>
        FileCalls.StatPath(Address) is { } now && now.Dev == f.Socket.Dev && now.Ino == f.Socket.Ino;

    /// <summary>Says why this engine cannot contend, once per distinct reason, to the engine's diagnostics.</summary>
    private void Report(string? problem)
    {
        Problem = problem;
        if (problem is not null && problem != _reported)
        {
            _log($"restart supervisor: this process does not contend for the restart duty of '{Namespace}' at '{Address}': {problem}");
        }

        _reported = problem;
    }

    /// <summary>Drops the lock (and the file when nobody else uses it) under the gate.</summary>
    private void Release(bool remove)
    {
        if (_file is { } f)
        {
            if (remove)
            {
                f.RemoveIfUnused();
            }

            f.Dispose();
        }

        _file = null;
        _held = false;
        Since = null;
    }

    /// <summary>The holder's record at the start of the file: pid, since (UTC ticks), last beat (monotonic ms).</summary>
    private void Beat(LockFile f)
    {
        long now = MonotonicMs();
        var text = string.Create(CultureInfo.InvariantCulture, $"{Environment.ProcessId} {Since!.Value.Ticks} {now}").PadRight(HeartbeatRecord.Length - 1) + "\n";
        var bytes = System.Text.Encoding.ASCII.GetBytes(text);
        if (FileCalls.pwrite(f.Fd, bytes, (ulong)bytes.Length, 0) != bytes.Length)
        {
            _log($"restart supervisor: cannot write the heartbeat to {f.Path}: errno {Marshal.GetLastWin32Error()}");
        }
    }

    /// <summary>CLOCK_MONOTONIC in ms, the same clock in every process of the host; wall-clock steps do not move it.</summary>
    internal static long MonotonicMs() => Stopwatch.GetTimestamp() * 1000 / Stopwatch.Frequency;

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _stop.Cancel();
            // The file goes with us when nobody else holds or waits on it (a mistyped namespace leaves nothing).
            Release(remove: true);
        }
    }
}
