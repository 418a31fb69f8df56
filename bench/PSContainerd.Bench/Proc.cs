using System.Diagnostics;

namespace PSContainerd.Bench;

/// <summary>A finished child process: its exit code, output and how long it took.</summary>
internal sealed record ProcResult(int Code, string Out, string Err, double Ms)
{
    public ProcResult Check(string what) =>
        Code == 0 ? this : throw new InvalidOperationException($"{what} failed (exit {Code}): {Err.Trim()} {Out.Trim()}".Trim());
}

/// <summary>Runs command-line tools with a bound: a child that outlives it is killed with its tree.</summary>
internal static class Proc
{
    public static async Task<ProcResult> Run(string file, IEnumerable<string> args, TimeSpan? timeout = null, string? workDir = null, IReadOnlyDictionary<string, string?>? env = null)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        if (workDir is not null)
        {
            psi.WorkingDirectory = workDir;
        }

        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        foreach (var (name, value) in env ?? new Dictionary<string, string?>())
        {
            psi.Environment[name] = value;
        }

        var sw = Stopwatch.StartNew();
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"{file} did not start");
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(120));
        try
        {
            await p.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            try
            {
                p.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
            }

            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish within {timeout ?? TimeSpan.FromSeconds(120)}");
        }

        sw.Stop();
        return new ProcResult(p.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false), sw.Elapsed.TotalMilliseconds);
    }

    /// <summary>The first line of a tool's version output, or null when the tool is not there.</summary>
    public static async Task<string?> Version(string file, params string[] args)
    {
        try
        {
            var r = await Run(file, args, TimeSpan.FromSeconds(20)).ConfigureAwait(false);
            var line = (r.Out + r.Err).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault();
            return r.Code == 0 ? line : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }
}
