using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Runtime.Loader;
using System.Security.Cryptography;
using System.Text;

namespace PSContainerd.Bench;

/// <summary>
/// The first hash of a lock name in a fresh process, each way: <c>SHA256.HashData</c> (which
/// loads OpenSSL on its first use) and the module's managed SHA-256, which gives the same digest.
/// The bench's own executable run again with <c>--probe-hash sha|managed DLL</c>, the module's
/// precompiled assembly loaded as the module loads it; the probe prints milliseconds.
/// </summary>
internal static class HashProbe
{
    public static async Task<double> Run(string which, string moduleManifest)
    {
        // The build PowerShell 7.6 (.NET 10) loads: the one with the ReadyToRun code it uses.
        string dll = Path.Combine(Path.GetDirectoryName(moduleManifest)!, "net10.0", "PSContainerd.dll");
        string self = Environment.ProcessPath ?? throw new InvalidOperationException("no path to the bench's executable");
        var args = Path.GetFileNameWithoutExtension(self) == "dotnet"
            ? new[] { typeof(HashProbe).Assembly.Location, "--probe-hash", which, dll }
            : new[] { "--probe-hash", which, dll };
        var r = (await Proc.Run(self, args, TimeSpan.FromSeconds(60))).Check($"hash probe {which}");
        return double.Parse(r.Out.Trim(), CultureInfo.InvariantCulture);
    }

    /// <summary>In the probe process: the first hash, timed; the module's method found before the clock starts.</summary>
    public static int Probe(string which, string dll)
    {
        string text = "1234:5678\0bench";
        var managed = new AssemblyLoadContext("probe").LoadFromAssemblyPath(dll).GetType("PSContainerd.Engine.LockNameHash", throwOnError: true)!
            .GetMethod("Of", BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic)!
            .CreateDelegate<Func<string, byte[]>>();
        var clock = Stopwatch.StartNew();
        byte[] digest = which == "sha" ? SHA256.HashData(Encoding.UTF8.GetBytes(text)) : managed(text);
        clock.Stop();
        Console.WriteLine(clock.Elapsed.TotalMilliseconds.ToString("0.000", CultureInfo.InvariantCulture));
        return digest.Length == 32 ? 0 : 1;
    }
}
