using System.Diagnostics;
using PSContainerd.Containerd;
using PSContainerd.Engine;

namespace PSContainerd.Bench;

/// <summary>
/// containerd's own floor: the client alone, in a namespace no engine watches, doing what any stop
/// must do and nothing else. Kill (SIGTERM) → the exit event → Tasks.Delete; past a grace period,
/// Kill (SIGKILL, all) first. Each phase is timed for "where the time goes".
/// </summary>
internal sealed class Floor : IAsyncDisposable
{
    private readonly ExitWatch _watch;
    private readonly string _rootfs;

    private Floor(ExitWatch watch, string rootfs)
    {
        _watch = watch;
        _rootfs = rootfs;
    }

    public ContainerdClient Client => _watch.Client;

    public static readonly string[] CooperativeCommand = { "/bin/sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait" };

    public static readonly string[] StubbornCommand = { "/bin/sleep", "1000" };

    public static async Task<Floor> Start(string address, string ns, string rootfs) => new(await ExitWatch.Start(address, ns), rootfs);

    /// <summary>A container and its started task, made with the client alone; returns once a trapping shell has its trap in.</summary>
    public async Task<(string Id, uint Pid)> Create(string prefix, string[] command)
    {
        string id = $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 9)];
        var req = new NewContainerRequest(id, _rootfs, command, Array.Empty<string>(), new Dictionary<string, string>(), null, null, RestartPolicy.No, false, null);
        await Client.CreateContainerAsync(new ContainerCreateSpec(id, OciSpecBuilder.Build(req, Client.Namespace), new Dictionary<string, string>()));
        await Client.CreateTaskAsync(id);
        uint pid = await Client.StartTaskAsync(id);
        await Trap.Wait(pid, command);
        return (id, pid);
    }

    /// <summary>The phases of one floor stop, in milliseconds.</summary>
    public sealed record Phases(double Total, double KillRpc, double SignalToEvent, double Delete, uint ExitStatus);

    /// <summary>
    /// A stop with the client alone. <paramref name="direct"/>: the stop signal goes straight to the
    /// init process with pidfd_send_signal instead of the Kill RPC (what runc kill does, minus the RPC).
    /// </summary>
    public async Task<Phases> Stop(string id, uint pid, int timeoutSeconds, bool direct = false)
    {
        var exit = _watch.Expect(id);
        long t0 = Stopwatch.GetTimestamp();
        if (direct)
        {
            Pidfd.Signal((int)pid, 15);
        }
        else
        {
            await Client.KillAsync(id, 15);
        }

        long signalled = Stopwatch.GetTimestamp();
        if (await Task.WhenAny(exit, Task.Delay(TimeSpan.FromSeconds(timeoutSeconds))) != exit)
        {
            await Client.KillAsync(id, 9, all: true);
        }

        var (at, status) = await exit.WaitAsync(TimeSpan.FromSeconds(30));
        long d0 = Stopwatch.GetTimestamp();
        await Client.DeleteTaskAsync(id, deadline: TimeSpan.FromSeconds(60));
        long end = Stopwatch.GetTimestamp();
        _watch.Forget(id);
        return new Phases(Ms(t0, end), Ms(t0, signalled), Ms(t0, at), Ms(d0, end), status);
    }

    /// <summary>Every container at once: all Kill RPCs, all exit events, all task deletes.</summary>
    public async Task<double> StopAll(IReadOnlyList<string> ids)
    {
        var exits = ids.Select(_watch.Expect).ToArray();
        var sw = Stopwatch.StartNew();
        await Task.WhenAll(ids.Select(id => Client.KillAsync(id, 15, deadline: TimeSpan.FromSeconds(60))));
        var all = Task.WhenAll(exits);
        var bound = Stopwatch.StartNew();
        while (await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(2))) != all)
        {
            if (bound.Elapsed > TimeSpan.FromSeconds(120))
            {
                throw new TimeoutException($"{exits.Count(e => !e.IsCompleted)} of {ids.Count} exits not seen in 120 s");
            }

            // A client whose event stream dropped looks at its tasks: exits it missed are there.
            for (int i = 0; i < ids.Count; i++)
            {
                if (!exits[i].IsCompleted && await Client.GetTaskAsync(ids[i]) is { Status: PSContainerd.Containerd.TaskStatus.Stopped } t)
                {
                    _watch.Found(ids[i], t.ExitStatus);
                }
            }
        }

        await Task.WhenAll(ids.Select(id => Client.DeleteTaskAsync(id, deadline: TimeSpan.FromSeconds(60))));
        sw.Stop();
        foreach (var id in ids)
        {
            _watch.Forget(id);
        }

        return sw.Elapsed.TotalMilliseconds;
    }

    /// <summary>Removes the container, deleting a task that is still there (killed first).</summary>
    public async Task Remove(string id)
    {
        await RemoveWith(Client, id);
        _watch.Forget(id);
    }

    public static async Task RemoveWith(ContainerdClient client, string id)
    {
        try
        {
            await client.KillAsync(id, 9, all: true);
        }
        catch (ContainerdException)
        {
        }

        for (int i = 0; i < 100; i++)
        {
            try
            {
                await client.DeleteTaskAsync(id);
                break;
            }
            catch (ContainerdException e) when (e.Kind == ContainerdErrorKind.NotFound)
            {
                break;
            }
            catch (ContainerdException)
            {
                await Task.Delay(50);
            }
        }

        try
        {
            await client.DeleteContainerAsync(id);
        }
        catch (ContainerdException e) when (e.Kind == ContainerdErrorKind.NotFound)
        {
        }
        catch (ContainerdException e)
        {
            // A loaded containerd may miss a deadline: the private containerd's teardown removes what is left.
            Console.Error.WriteLine($"    could not remove {id}: {e.Message}");
        }
    }

    public static double Ms(long from, long to) => Stopwatch.GetElapsedTime(from, to).TotalMilliseconds;

    public ValueTask DisposeAsync() => _watch.DisposeAsync();
}
