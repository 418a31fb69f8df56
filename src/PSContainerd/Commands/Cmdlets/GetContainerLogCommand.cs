using System.Management.Automation;
using System.Text;

namespace PSContainerd.Commands;

/// <summary>
/// <para type="synopsis">Writes what containers wrote to stdout and stderr, as docker logs does.</para>
/// <para type="description">
/// Reads the container's log file line by line: the one New-Container made by default, or its
/// -LogPath. -Tail writes only the last lines. -Wait keeps writing lines as the container writes
/// them (docker logs -f) until the container stops, -Timeout passes, or Ctrl+C. -Since and
/// -Timestamps use the time a line was read while following. One container: strings; several
/// (more than one resolved, or a wildcard): LogLine objects with Id, Time and Line.
/// </para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "ContainerLog", HelpUri = HelpUris.Base + "Get-ContainerLog.md")]
[OutputType(typeof(string), typeof(LogLine))]
public sealed class GetContainerLogCommand : ContainerIdCmdlet
{
    /// <summary>How often -Wait looks for new output.</summary>
    private static readonly TimeSpan FollowInterval = TimeSpan.FromMilliseconds(200);

    /// <summary>Only the last N lines; -1 (default) writes all.</summary>
    [Parameter]
    [ValidateRange(-1, int.MaxValue)]
    public int Tail { get; set; } = -1;

    /// <summary>Keep writing new lines until the container stops, -Timeout passes, or Ctrl+C (docker logs -f).</summary>
    [Parameter]
    [Alias("Follow")]
    public SwitchParameter Wait { get; set; }

    /// <summary>With -Wait: stop following after this many seconds (-1, the default: until the container stops).</summary>
    [Parameter]
    [Alias("t")]
    [ValidateRange(-1, int.MaxValue)]
    public int Timeout { get; set; } = -1;

    /// <summary>Only lines written at or after this time: a DateTime, or how long ago (10m, 1h30m, a TimeSpan).</summary>
    [Parameter]
    [SinceTransformation]
    public DateTime? Since { get; set; }

    /// <summary>Lead each line whose time is known with it (ISO-8601, UTC), as docker logs -t.</summary>
    [Parameter]
    public SwitchParameter Timestamps { get; set; }

    private bool _wildcard;
    private bool _asObjects;

    protected override string? ShouldProcessAction => null;

    /// <summary>One container after the other, so lines of different containers do not interleave; all at once with -Wait.</summary>
    protected override int Throttle => Wait ? int.MaxValue : 1;

    protected override void ProcessRecord()
    {
        _wildcard |= Id.Any(WildcardPattern.ContainsWildcardCharacters);
        base.ProcessRecord();
    }

    protected override void Run(IReadOnlyList<ContainerTarget> targets)
    {
        // Several containers' lines are told apart by the objects' Id; one container keeps the
        // plain strings scripts already read. A wildcard means "maybe several": objects always.
        _asObjects = targets.Count > 1 || _wildcard;
        base.Run(targets);
    }

    protected override async Task ActAsync(ContainerTarget target, IOutputSink sink, CancellationToken ct)
    {
        string? path = await target.Engine.GetLogPathAsync(target.Id, ct).ConfigureAwait(false);
        if (path is null)
        {
            sink.Error(ErrorRecords.Make(new ItemNotFoundException($"Container '{target.Id}' has no log: it was created with New-Container -NoLog, or by another tool."),
                "NoContainerLog", ErrorCategory.ObjectNotFound, target.Id));
            return;
        }

        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(ct);
        if (Wait && Timeout >= 0)
        {
            bounded.CancelAfter(TimeSpan.FromSeconds(Timeout));
        }

        try
        {
            await ReadAsync(target, path, sink, bounded.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            sink.Verbose($"Stopped following the log of '{target.Id}': -Timeout {Timeout} s passed.");
        }
    }

    private async Task ReadAsync(ContainerTarget target, string path, IOutputSink sink, CancellationToken ct)
    {
        // Stops following once the container is not running (its last output is then in the file).
        Task? stopped = Wait ? target.Engine.WaitAsync(target.Id, WaitCondition.NotRunning, null, ct) : null;
        using var stream = await OpenWhenPresentAsync(path, stopped, ct).ConfigureAwait(false);
        if (stream is null)
        {
            return; // never started, so never wrote
        }

        // The file keeps no times: every line in it now was written before its last write. With
        // -Since after that, none of them qualifies; otherwise all are written (times unknown).
        bool earlierLinesQualify = Since is not DateTime since || File.GetLastWriteTimeUtc(path) >= since;
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var last = new Queue<string>();
        while (await reader.ReadLineAsync(ct).ConfigureAwait(false) is { } line)
        {
            if (!earlierLinesQualify)
            {
                continue;
            }

            if (Tail < 0)
            {
                OutputLine(target, sink, line, null);
                continue;
            }

            last.Enqueue(line);
            if (last.Count > Tail)
            {
                last.Dequeue();
            }
        }

        foreach (var line in last)
        {
            OutputLine(target, sink, line, null);
        }

        if (stopped is not null)
        {
            await FollowAsync(reader, stopped, (line, time) => OutputLine(target, sink, line, time), ct).ConfigureAwait(false);
        }
    }

    private void OutputLine(ContainerTarget target, IOutputSink sink, string line, DateTime? time)
    {
        if (time is DateTime t && Since is DateTime since && t < since)
        {
            return;
        }

        if (_asObjects)
        {
            sink.Output(new LogLine { Id = target.Id, Namespace = target.Engine.Namespace, Address = target.Engine.Address, Time = time, Line = line });
        }
        else
        {
            sink.Output(Timestamps && time is DateTime at ? $"{at:O} {line}" : line);
        }
    }

    /// <summary>The log file open for reading (shared with the shim writing it); null when it does not exist and will not.</summary>
    private static async Task<FileStream?> OpenWhenPresentAsync(string path, Task? stopped, CancellationToken ct)
    {
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            }
            catch (FileNotFoundException) when (stopped is not null && !stopped.IsCompleted)
            {
                await Task.Delay(FollowInterval, ct).ConfigureAwait(false);
            }
            catch (FileNotFoundException)
            {
                return null;
            }
        }
    }

    /// <summary>
    /// Writes lines as they are appended, each with the time it was read (within
    /// <see cref="FollowInterval"/> of its write), until the container has stopped and the file is
    /// drained, or <paramref name="ct"/> ends.
    /// </summary>
    private static async Task FollowAsync(StreamReader reader, Task stopped, Action<string, DateTime> emit, CancellationToken ct)
    {
        var partial = new StringBuilder();
        while (true)
        {
            bool wasStopped = stopped.IsCompleted;
            string chunk = await reader.ReadToEndAsync(ct).ConfigureAwait(false);
            var now = DateTime.UtcNow;
            partial.Append(chunk);
            string text = partial.ToString();
            int end = text.LastIndexOf('\n');
            if (end >= 0)
            {
                foreach (var line in text[..end].Split('\n'))
                {
                    emit(line.TrimEnd('\r'), now);
                }

                partial.Clear().Append(text[(end + 1)..]);
            }

            if (wasStopped)
            {
                if (partial.Length > 0)
                {
                    emit(partial.ToString(), now);
                }

                return;
            }

            await Task.WhenAny(stopped, Task.Delay(FollowInterval, ct)).ConfigureAwait(false);
            ct.ThrowIfCancellationRequested();
        }
    }
}
