using System.Diagnostics;
using System.Globalization;

namespace PSContainerd.Bench;

/// <summary>
/// The module as a runbook meets it: a long-lived pwsh that imported it once (bench/worker.ps1,
/// driven line by line over stdin), and a cold `pwsh -c` per call.
/// </summary>
internal sealed class Session : IAsyncDisposable
{
    private readonly Process _pwsh;

    private Session(Process pwsh) => _pwsh = pwsh;

    public static async Task<Session> Start(string repo, string module, string rootfs)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = false,
            UseShellExecute = false,
            WorkingDirectory = repo,
        };
        foreach (var a in new[] { "pwsh", "-NoProfile", "-NonInteractive", "-File", Path.Combine(repo, "bench", "worker.ps1"), "-Module", module, "-RootFs", rootfs })
        {
            psi.ArgumentList.Add(a);
        }

        var s = new Session(Process.Start(psi) ?? throw new InvalidOperationException("pwsh did not start"));
        await s.Answer(TimeSpan.FromSeconds(60));
        return s;
    }

    /// <summary>One Stop-Container, timed inside the session (create, trap, stop, check, remove); milliseconds.</summary>
    public Task<double> Stop(int timeoutSeconds, bool cooperative) =>
        Ask($"single {timeoutSeconds} {(cooperative ? "coop" : "stubborn")}", TimeSpan.FromSeconds(120));

    /// <summary>One Stop-Container call for <paramref name="count"/> cooperative containers; null: the default -ThrottleLimit.</summary>
    public Task<double> StopMany(int count, int? throttle) =>
        Ask($"bulk {count} {throttle?.ToString(CultureInfo.InvariantCulture) ?? "default"}", TimeSpan.FromSeconds(900));

    private async Task<double> Ask(string line, TimeSpan bound)
    {
        await _pwsh.StandardInput.WriteLineAsync(line);
        await _pwsh.StandardInput.FlushAsync();
        return double.Parse(await Answer(bound), CultureInfo.InvariantCulture);
    }

    private async Task<string> Answer(TimeSpan bound)
    {
        using var cts = new CancellationTokenSource(bound);
        while (true)
        {
            var line = await _pwsh.StandardOutput.ReadLineAsync(cts.Token) ?? throw new InvalidOperationException("the bench's pwsh session ended");
            if (line.StartsWith("@@error ", StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"pwsh session: {line[8..]}");
            }

            if (line.StartsWith("@@ ", StringComparison.Ordinal))
            {
                return line[3..].Trim();
            }
        }
    }

    /// <summary>A fresh `pwsh -c` that imports the module and runs <paramref name="script"/>; its wall time.</summary>
    public static async Task<double> Cold(string repo, string script)
    {
        var r = await Proc.Run("dotnet", new[] { "pwsh", "-NoProfile", "-NonInteractive", "-c", script }, TimeSpan.FromSeconds(120), repo);
        r.Check($"pwsh -c {script}");
        return r.Ms;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _pwsh.StandardInput.WriteLineAsync("quit");
            _pwsh.StandardInput.Close();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await _pwsh.WaitForExitAsync(cts.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            _pwsh.Kill(entireProcessTree: true);
        }

        _pwsh.Dispose();
    }
}
