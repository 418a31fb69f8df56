using System.Diagnostics;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;

namespace PSContainerd.Bench;

/// <summary>
/// Debian's dockerd 20.10, started by the bench on the same private containerd, with every root
/// of its own under the bench's folder (never a system dockerd). Stops are timed through its API
/// (as a warm client would call it) and through the docker CLI (as a shell would).
/// </summary>
internal sealed class Dockerd : IAsyncDisposable
{
    public const string Cli = "/usr/bin/docker"; // Debian's client; another docker on PATH may be a different version
    private const string Daemon = "/usr/sbin/dockerd";
    private const string Image = "bench-busybox:latest";

    private readonly Process _daemon;
    private readonly string _dir;
    private readonly HttpClient _http;

    private Dockerd(Process daemon, string dir)
    {
        _daemon = daemon;
        _dir = dir;
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(Socket), ct);
                return new NetworkStream(socket, ownsSocket: true);
            },
        };
        _http = new HttpClient(handler) { BaseAddress = new Uri("http://docker/v1.41/"), Timeout = TimeSpan.FromSeconds(120) };
    }

    public string Socket => Path.Combine(_dir, "docker.sock");

    public static bool Installed => File.Exists(Daemon) && File.Exists(Cli);

    public static async Task<Dockerd> Start(string containerdSocket, string benchDir, string rootfsTar)
    {
        string dir = Path.Combine(benchDir, "docker");
        Directory.CreateDirectory(dir);
        var psi = new ProcessStartInfo(Daemon) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[]
        {
            "--containerd", containerdSocket, "--data-root", Path.Combine(dir, "data"), "--exec-root", Path.Combine(dir, "exec"),
            "-H", $"unix://{Path.Combine(dir, "docker.sock")}", "--pidfile", Path.Combine(dir, "docker.pid"),
            "--iptables=false", "--ip6tables=false", "--bridge=none", "--log-level=warn",
        })
        {
            psi.ArgumentList.Add(a);
        }

        var daemon = Process.Start(psi) ?? throw new InvalidOperationException("dockerd did not start");
        var log = File.CreateText(Path.Combine(dir, "dockerd.log"));
        daemon.OutputDataReceived += (_, e) => { lock (log) { log.WriteLine(e.Data); } };
        daemon.ErrorDataReceived += (_, e) => { lock (log) { log.WriteLine(e.Data); } };
        daemon.BeginOutputReadLine();
        daemon.BeginErrorReadLine();
        var d = new Dockerd(daemon, dir);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                (await d._http.GetAsync("_ping")).EnsureSuccessStatusCode();
                break;
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline && !daemon.HasExited)
            {
                await Task.Delay(200);
            }
        }

        (await Proc.Run(Cli, new[] { "-H", $"unix://{d.Socket}", "import", rootfsTar, Image }, TimeSpan.FromSeconds(120))).Check("docker import");
        return d;
    }

    public async Task<string> Version() => (await _http.GetFromJsonAsync<JsonElement>("version")).GetProperty("Version").GetString() ?? "?";

    public async Task<(string Id, uint Pid)> Create(string[] command)
    {
        var body = new { Image, Cmd = command, HostConfig = new { NetworkMode = "none" } };
        var created = await (await _http.PostAsJsonAsync("containers/create", body)).EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonElement>();
        string id = created.GetProperty("Id").GetString()!;
        (await _http.PostAsync($"containers/{id}/start", null)).EnsureSuccessStatusCode();
        uint pid = (await Inspect(id)).GetProperty("State").GetProperty("Pid").GetUInt32();
        await Trap.Wait(pid, command);
        return (id, pid);
    }

    /// <summary>POST /containers/ID/stop, timed; then checks the exit code dockerd recorded.</summary>
    public async Task<double> StopApi(string id, int timeoutSeconds, int expectedExit)
    {
        var sw = Stopwatch.StartNew();
        (await _http.PostAsync($"containers/{id}/stop?t={timeoutSeconds}", null)).EnsureSuccessStatusCode();
        sw.Stop();
        await CheckExit(id, expectedExit);
        return sw.Elapsed.TotalMilliseconds;
    }

    /// <summary>`docker stop`, the whole CLI process timed.</summary>
    public async Task<double> StopCli(string id, int timeoutSeconds, int expectedExit)
    {
        var r = (await Proc.Run(Cli, new[] { "-H", $"unix://{Socket}", "stop", "-t", timeoutSeconds.ToString(), id }, TimeSpan.FromSeconds(120))).Check("docker stop");
        await CheckExit(id, expectedExit);
        return r.Ms;
    }

    /// <summary>Every container stopped at once through the API (one request each, all in flight together).</summary>
    public async Task<double> StopAll(IReadOnlyList<string> ids)
    {
        var sw = Stopwatch.StartNew();
        await Task.WhenAll(ids.Select(async id => (await _http.PostAsync($"containers/{id}/stop?t=10", null)).EnsureSuccessStatusCode()));
        sw.Stop();
        foreach (var id in ids)
        {
            await CheckExit(id, 0);
        }

        return sw.Elapsed.TotalMilliseconds;
    }

    public async Task Remove(string id) => (await _http.DeleteAsync($"containers/{id}?force=true")).EnsureSuccessStatusCode();

    private async Task<JsonElement> Inspect(string id) => await _http.GetFromJsonAsync<JsonElement>($"containers/{id}/json");

    private async Task CheckExit(string id, int expected)
    {
        int code = (await Inspect(id)).GetProperty("State").GetProperty("ExitCode").GetInt32();
        if (code != expected)
        {
            throw new InvalidOperationException($"dockerd recorded exit {code} for {id[..12]}, not {expected}");
        }
    }

    /// <summary>Removes every container it made, then stops the daemon (SIGTERM, SIGKILL after 20 s).</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            var all = await _http.GetFromJsonAsync<JsonElement>("containers/json?all=true");
            foreach (var c in all.EnumerateArray())
            {
                await Remove(c.GetProperty("Id").GetString()!);
            }
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            Console.Error.WriteLine($"dockerd: could not remove its containers: {e.Message}");
        }

        _http.Dispose();
        if (!_daemon.HasExited)
        {
            Posix.Kill(_daemon.Id, 15);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            try
            {
                await _daemon.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                _daemon.Kill(entireProcessTree: true);
                await _daemon.WaitForExitAsync();
            }
        }

        _daemon.Dispose();
    }
}
