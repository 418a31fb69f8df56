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

    /// <summary>
    /// A fresh `pwsh -c <paramref name="script"/>`; its wall time. PowerShell itself (<paramref name="pwsh"/>),
    /// not `dotnet pwsh`, whose tool lookup adds as much to every row; its startup profile and
    /// module analysis cache in <paramref name="cache"/> (XDG_CACHE_HOME), one per row, so a row
    /// never starts from a profile another row's script recorded.
    /// </summary>
    public static async Task<double> Cold(Pwsh pwsh, string repo, string script, string cache, IReadOnlyDictionary<string, string?>? env = null)
    {
        var vars = new Dictionary<string, string?>(env ?? new Dictionary<string, string?>()) { ["XDG_CACHE_HOME"] = Directory.CreateDirectory(cache).FullName };
        var r = await Proc.Run(pwsh.File, pwsh.Prefix.Concat(new[] { "-NoProfile", "-NonInteractive", "-c", script }), TimeSpan.FromSeconds(120), repo, vars);
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

/// <summary>How to run PowerShell directly: its own executable, or `dotnet pwsh.dll` when only the assembly is known.</summary>
internal sealed record Pwsh(string File, string[] Prefix)
{
    /// <summary>From --pwsh: an executable, or a pwsh.dll to run with dotnet.</summary>
    public static Pwsh Of(string path) =>
        path.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) ? new Pwsh("dotnet", new[] { path }) : new Pwsh(path, Array.Empty<string>());

    public override string ToString() => string.Join(' ', Prefix.Prepend(File));
}
