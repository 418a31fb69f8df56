using PSContainerd.Containerd;

namespace PSContainerd.Bench;

/// <summary>
/// containerd's own CLI. It has no stop: `ctr task kill` sends the signal and returns, and `ctr
/// task rm` fails while the task runs, so a stop is the kill followed by rm retried until it
/// succeeds (every 5 ms): what a shell script using ctr has to do.
/// </summary>
internal sealed class Ctr
{
    public const string Cli = "/usr/bin/ctr";
    private const string Namespace = "bench-ctr";
    private readonly string _address;
    private readonly string _rootfs;
    private readonly ContainerdClient _client;

    public Ctr(string address, string rootfs)
    {
        _address = address;
        _rootfs = rootfs;
        _client = new ContainerdClient(address, Namespace);
    }

    public static bool Installed => File.Exists(Cli);

    public async Task<(string Id, uint Pid)> Create(string[] command)
    {
        string id = $"ctr-{Guid.NewGuid():N}"[..12];
        (await Run(new[] { "run", "-d", "--rootfs", _rootfs, id }.Concat(command).ToArray())).Check("ctr run");
        uint pid = (await _client.GetTaskAsync(id))?.Pid ?? throw new InvalidOperationException($"ctr run made no task for {id}");
        await Trap.Wait(pid, command);
        return (id, pid);
    }

    public async Task<double> Stop(string id)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        (await Run("task", "kill", id)).Check("ctr task kill");
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var rm = await Run("task", "rm", id);
            if (rm.Code == 0)
            {
                return sw.Elapsed.TotalMilliseconds;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"ctr task rm {id} kept failing: {rm.Err.Trim()}");
            }

            await Task.Delay(5);
        }
    }

    public async Task Remove(string id) => (await Run("container", "rm", id)).Check("ctr container rm");

    private Task<ProcResult> Run(params string[] args) => Proc.Run(Cli, new[] { "--address", _address, "--namespace", Namespace }.Concat(args), TimeSpan.FromSeconds(60));
}
