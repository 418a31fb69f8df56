using System.Text;
using PSContainerd.Containerd;
using TaskStatus = PSContainerd.Containerd.TaskStatus;

namespace PSContainerd.Engine;

/// <summary>Readiness: waits until a running container passes every check asked for.</summary>
public sealed partial class ContainerEngine
{
    /// <summary>Between two looks at /proc and the log: short, since each look costs microseconds.</summary>
    private static readonly TimeSpan ReadyPoll = TimeSpan.FromMilliseconds(100);

    /// <summary>Between two command probes, each of which starts a process in the container.</summary>
    private static readonly TimeSpan ReadyCommandPoll = TimeSpan.FromMilliseconds(500);

    /// <summary>One command probe may take at most this long (or what is left of the wait).</summary>
    private static readonly TimeSpan ReadyCommandBound = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Waits until the container's task runs and every check of <paramref name="criteria"/> passes
    /// at the same look, polled until <paramref name="timeout"/> (null: until cancelled). A
    /// container not started yet is waited for; one that stops after it ran ends the wait with its
    /// exit and an Error saying it was never ready. A log line that matched stays matched. Reads
    /// only: nothing is written to the container or its record, except the command probe's process.
    /// </summary>
    public async Task<WaitResult> WaitReadyAsync(string id, ReadinessCriteria criteria, TimeSpan? timeout, CancellationToken ct = default)
    {
        var record = await GetRecordAsync(id, ct).ConfigureAwait(false);
        int stopSignal = StopSettings.Resolve(record.Labels, null, null, new List<string>()).Signal;
        LogScan? log = null;
        if (criteria.LogPattern is not null)
        {
            string path = record.Labels.GetValueOrDefault(StateLabels.LogPath)
                ?? throw new ContainerdException(ContainerdErrorKind.FailedPrecondition, Address,
                    $"Container '{id}' has no log file to match -LogPattern against (it was created with -NoLog, or its default log could not be kept).");
            log = new LogScan(path, criteria.LogPattern);
        }

        var clock = System.Diagnostics.Stopwatch.StartNew();
        uint seenPid = 0;
        string pending = "it has not started";
        var nextCommand = TimeSpan.Zero;
        while (true)
        {
            var task = await Client.GetTaskAsync(id, ct).ConfigureAwait(false);
            if (task is { Status: TaskStatus.Running, Pid: > 0 })
            {
                seenPid = task.Pid;
                bool commandDue = clock.Elapsed >= nextCommand;
                var (unmet, ranCommand) = await FirstUnmetAsync(id, task.Pid, stopSignal, criteria, log, commandDue, timeout - clock.Elapsed, ct).ConfigureAwait(false);
                if (unmet is null)
                {
                    return new WaitResult { Id = id, Namespace = Namespace, Address = Address, Condition = WaitCondition.Ready };
                }

                pending = unmet;
                if (ranCommand)
                {
                    nextCommand = clock.Elapsed + ReadyCommandPoll;
                }
            }
            else if (seenPid != 0 || task?.Status == TaskStatus.Stopped)
            {
                var info = await GetInfoAsync(id, ct).ConfigureAwait(false);
                return new WaitResult
                {
                    Id = id, Namespace = Namespace, Address = Address, Condition = WaitCondition.Ready,
                    ExitCode = task?.Status == TaskStatus.Stopped ? (int)task.ExitStatus : info.ExitCode,
                    ExitedAt = task?.ExitedAt ?? info.ExitedAt,
                    Error = $"Container '{id}' stopped before it was ready ({criteria.Describe()}).",
                };
            }

            if (timeout is TimeSpan t && clock.Elapsed >= t)
            {
                return new WaitResult
                {
                    Id = id, Namespace = Namespace, Address = Address, Condition = WaitCondition.Ready, TimedOut = true,
                    Error = $"Container '{id}' was not ready after {t.TotalSeconds:0.###} s: {pending}.",
                };
            }

            await Task.Delay(ReadyPoll, ct).ConfigureAwait(false);
        }
    }

    /// <summary>The first check that does not pass, in words (null when all pass), and whether the command probe ran.</summary>
    private async Task<(string? Unmet, bool RanCommand)> FirstUnmetAsync(string id, uint pid, int stopSignal, ReadinessCriteria c, LogScan? log, bool commandDue, TimeSpan? left, CancellationToken ct)
    {
        if (c.SignalHandled && !(ReadinessChecks.SignalFate(pid, stopSignal) is { Handled: true }))
        {
            return ($"its init process does not handle {Signals.Name(stopSignal)} yet", false);
        }

        if (c.TcpPort is int port && !ReadinessChecks.ListensOn(pid, port))
        {
            return ($"nothing listens on TCP port {port} yet", false);
        }

        if (log is not null && !log.Matched())
        {
            return ($"its log has not matched '{c.LogPattern}'", false);
        }

        if (c.Command is { Count: > 0 } command)
        {
            if (!commandDue)
            {
                return ($"'{string.Join(' ', command)}' did not exit 0", false);
            }

            var bound = left is TimeSpan l && l < ReadyCommandBound ? (l > TimeSpan.Zero ? l : TimeSpan.FromMilliseconds(1)) : ReadyCommandBound;
            var r = await ExecAsync(id, new ExecRequest(command, Timeout: bound), ct).ConfigureAwait(false);
            if (r.ExitCode != 0)
            {
                return ($"'{string.Join(' ', command)}' did not exit 0 (last: {(r.TimedOut ? "timed out" : $"exit {r.ExitCode}")})", true);
            }
        }

        return (null, false);
    }

    /// <summary>Reads a log file as it grows and remembers whether a line matched.</summary>
    private sealed class LogScan
    {
        private readonly string _path;
        private readonly System.Text.RegularExpressions.Regex _pattern;
        private readonly StringBuilder _partial = new();
        private long _offset;
        private bool _matched;

        public LogScan(string path, System.Text.RegularExpressions.Regex pattern)
        {
            _path = path;
            _pattern = pattern;
        }

        public bool Matched()
        {
            if (_matched)
            {
                return true;
            }

            try
            {
                using var f = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                if (f.Length < _offset)
                {
                    _offset = 0; // truncated or replaced: read it again
                    _partial.Clear();
                }

                f.Seek(_offset, SeekOrigin.Begin);
                using var reader = new StreamReader(f, Encoding.UTF8);
                _partial.Append(reader.ReadToEnd());
                _offset = f.Length;
            }
            catch (FileNotFoundException)
            {
                return false; // not written yet
            }
            catch (DirectoryNotFoundException)
            {
                return false;
            }

            // Complete lines leave the buffer; the unfinished last one stays, and is tested too (a
            // prompt printed without a newline is still a sign of readiness).
            var text = _partial.ToString();
            int cut = text.LastIndexOf('\n');
            var lines = text.Split('\n');
            _matched = lines.Any(l => _pattern.IsMatch(l.TrimEnd('\r')));
            _partial.Clear();
            if (cut < text.Length - 1)
            {
                _partial.Append(text, cut + 1, text.Length - cut - 1);
            }

            return _matched;
        }
    }
}
