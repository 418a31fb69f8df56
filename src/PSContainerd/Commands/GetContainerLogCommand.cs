using System.Management.Automation;
using System.Text;

namespace PSContainerd.Commands;

/// <summary>
/// <para type="synopsis">Writes what containers wrote to stdout and stderr, as docker logs does, for containers created with New-Container -LogPath.</para>
/// <para type="description">
/// Reads the container's log file line by line. -Tail writes only the last lines. -Wait keeps
/// writing lines as the container writes them (docker logs -f) until the container stops or
/// Ctrl+C. A container created without -LogPath has no log: NoContainerLog is written.
/// </para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "ContainerLog", HelpUri = HelpUris.Base + "Get-ContainerLog.md")]
[OutputType(typeof(string))]
public sealed class GetContainerLogCommand : ContainerIdCmdlet
{
    /// <summary>How often -Wait looks for new output.</summary>
    private static readonly TimeSpan FollowInterval = TimeSpan.FromMilliseconds(200);

    /// <summary>Only the last N lines; -1 (default) writes all.</summary>
    [Parameter]
    [ValidateRange(-1, int.MaxValue)]
    public int Tail { get; set; } = -1;

    /// <summary>Keep writing new lines until the container stops or Ctrl+C (docker logs -f).</summary>
    [Parameter]
    [Alias("Follow")]
    public SwitchParameter Wait { get; set; }

    protected override string? ShouldProcessAction => null;

    /// <summary>One container after the other, so lines of different containers do not interleave; all at once with -Wait.</summary>
    protected override int Throttle => Wait ? int.MaxValue : 1;

    protected override async Task ActAsync(ContainerTarget target, IOutputSink sink, CancellationToken ct)
    {
        string? path = await target.Engine.GetLogPathAsync(target.Id, ct).ConfigureAwait(false);
        if (path is null)
        {
            sink.Error(ErrorRecords.Make(new ItemNotFoundException($"Container '{target.Id}' has no log: it was created without New-Container -LogPath."),
                "NoContainerLog", ErrorCategory.ObjectNotFound, target.Id));
            return;
        }

        // Stops following once the container is not running (its last output is then in the file).
        Task? stopped = Wait ? target.Engine.WaitAsync(target.Id, WaitCondition.NotRunning, null, ct) : null;
        using var stream = await OpenWhenPresentAsync(path, stopped, ct).ConfigureAwait(false);
        if (stream is null)
        {
            return; // never started, so never wrote
        }

        using var reader = new StreamReader(stream, Encoding.UTF8);
        var last = new Queue<string>();
        while (await reader.ReadLineAsync(ct).ConfigureAwait(false) is { } line)
        {
            if (Tail < 0)
            {
                sink.Output(line);
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
            sink.Output(line);
        }

        if (stopped is not null)
        {
            await FollowAsync(reader, stopped, sink, ct).ConfigureAwait(false);
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

    /// <summary>Writes lines as they are appended until the container has stopped and the file is drained, or Ctrl+C.</summary>
    private static async Task FollowAsync(StreamReader reader, Task stopped, IOutputSink sink, CancellationToken ct)
    {
        var partial = new StringBuilder();
        while (true)
        {
            bool wasStopped = stopped.IsCompleted;
            string chunk = await reader.ReadToEndAsync(ct).ConfigureAwait(false);
            partial.Append(chunk);
            string text = partial.ToString();
            int end = text.LastIndexOf('\n');
            if (end >= 0)
            {
                foreach (var line in text[..end].Split('\n'))
                {
                    sink.Output(line.TrimEnd('\r'));
                }

                partial.Clear().Append(text[(end + 1)..]);
            }

            if (wasStopped)
            {
                if (partial.Length > 0)
                {
                    sink.Output(partial.ToString());
                }

                return;
            }

            await Task.WhenAny(stopped, Task.Delay(FollowInterval, ct)).ConfigureAwait(false);
            ct.ThrowIfCancellationRequested();
        }
    }
}
