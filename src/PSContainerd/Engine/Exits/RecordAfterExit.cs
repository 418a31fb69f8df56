using System.Runtime.CompilerServices;
using PSContainerd.Containerd;

namespace PSContainerd.Engine;

/// <summary>
/// The record every exit's write goes by (<see cref="ExitRecorder.RecordAsync"/>: one removed and
/// created again since the run is not written on), read as soon as a stop's init process is known
/// to be gone, by its pidfd, while containerd's report of the exit status is still on its way.
/// Still a read made after the exit, so it tells what a read at the write would tell, less the
/// moments between; it only takes the read off a stop's path. Any other exit is read at its write.
/// </summary>
internal sealed class RecordAfterExit
{
    private readonly ContainerdClient _client;
    private readonly ConditionalWeakTable<ContainerState, Read> _reads = new();

    public RecordAfterExit(ContainerdClient client) => _client = client;

    /// <summary>A read made after the exit of the run that started at <paramref name="StartedAt"/> with init <paramref name="Pid"/>.</summary>
    private sealed record Read(uint Pid, DateTime? StartedAt, Task<ContainerRecord?> Record)
    {
        public bool IsOf(uint pid, DateTime? startedAt) => Pid == pid && StartedAt is not null && StartedAt == startedAt;
    }

    /// <summary>The init process <paramref name="pid"/> is gone: its container's record is read now, unless that run's exit has its read already.</summary>
    public void Start(ContainerState s, uint pid)
    {
        if (s.IsLive && s.Pid == pid && !(_reads.TryGetValue(s, out var read) && read.IsOf(pid, s.StartedAt)))
        {
            _reads.AddOrUpdate(s, new Read(pid, s.StartedAt, Get(s.Id)));
        }
    }

    /// <summary>
    /// The record read since <paramref name="pid"/> exited: the one <see cref="Start"/> began, else
    /// one read now (null when it cannot be read). Kept as that run's read, so a pidfd that reports
    /// the exit after it was recorded starts no second one.
    /// </summary>
    public async Task<ContainerRecord?> ReadAsync(ContainerState s, uint pid)
    {
        // Of this run only: a pid the kernel gave a later run again is another exit.
        if (pid != 0 && _reads.TryGetValue(s, out var read) && read.IsOf(pid, s.StartedAt) && await read.Record.ConfigureAwait(false) is { } early)
        {
            return early;
        }

        var now = Get(s.Id);
        _reads.AddOrUpdate(s, new Read(pid, s.StartedAt, now));
        return await now.ConfigureAwait(false);
    }

    private Task<ContainerRecord?> Get(string id) => QuietCalls.RecordOf(_client, id);
}
