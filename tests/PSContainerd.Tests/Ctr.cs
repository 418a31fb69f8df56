using System.Diagnostics;
using Xunit;

namespace PSContainerd.Tests;

/// <summary>
/// containerd's own command-line client on one namespace of the fixture's containerd: makes
/// containers the way a host's other tools do (`ctr run IMAGE`), from the busybox image that
/// tests/Fixtures/foreign-image.sh imports. Removes the containers it made, with their
/// snapshots, when disposed.
/// </summary>
internal sealed class Ctr : IAsyncDisposable
{
    private readonly ContainerdFixture _fx;
    private readonly List<string> _made = new();

    private Ctr(ContainerdFixture fx, string @namespace, string image)
    {
        _fx = fx;
        Namespace = @namespace;
        Image = image;
    }

    public string Namespace { get; }

    public string Image { get; }

    /// <summary>Imports the busybox image into <paramref name="namespace"/>.</summary>
    public static async Task<Ctr> OpenAsync(ContainerdFixture fx, string @namespace)
    {
        string script = Path.Combine(Path.GetDirectoryName(fx.Script)!, "foreign-image.sh");
        var (code, output) = await RunAsync("bash", script, fx.Address, @namespace, fx.RootFs);
        Assert.True(code == 0, $"foreign-image.sh failed ({code}): {output}");
        return new Ctr(fx, @namespace, output.Trim());
    }

    /// <summary><c>ctr run -d [--label K=V] IMAGE ID COMMAND</c>: a running container of the image.</summary>
    public Task<string> RunAsync(string prefix, string[] command, params string[] labels) => MakeAsync("run", "-d", prefix, command, labels);

    /// <summary><c>ctr containers create IMAGE ID COMMAND</c>: a container of the image with no task.</summary>
    public Task<string> CreateAsync(string prefix, string[] command, params string[] labels) => MakeAsync("containers", "create", prefix, command, labels);

    /// <summary>Runs ctr on the namespace; fails the test when ctr does.</summary>
    public async Task<string> Must(params string[] args)
    {
        var (code, output) = await Try(args);
        Assert.True(code == 0, $"ctr {string.Join(' ', args)} failed ({code}): {output}");
        return output;
    }

    public Task<(int Code, string Output)> Try(params string[] args) =>
        RunAsync("ctr", new[] { "--address", _fx.Address, "-n", Namespace }.Concat(args).ToArray());

    private async Task<string> MakeAsync(string verb, string sub, string prefix, string[] command, string[] labels)
    {
        string id = $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 9)];
        var args = new List<string> { verb, sub };
        foreach (var l in labels)
        {
            args.Add("--label");
            args.Add(l);
        }

        args.Add(Image);
        args.Add(id);
        args.AddRange(command);
        _made.Add(id);
        await Must(args.ToArray());
        return id;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var id in _made)
        {
            await Try("tasks", "kill", "-a", "-s", "SIGKILL", id);
            for (int i = 0; i < 50 && (await Try("tasks", "delete", "-f", id)).Output.Contains("running", StringComparison.OrdinalIgnoreCase); i++)
            {
                await Task.Delay(100);
            }

            await Try("containers", "delete", id); // with its snapshot
        }
    }

    private static async Task<(int Code, string Output)> RunAsync(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(true);
            return (-1, $"{file} timed out after 60 s");
        }

        return (p.ExitCode, await stdout + await stderr);
    }
}
