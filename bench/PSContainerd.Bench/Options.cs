using System.Globalization;

namespace PSContainerd.Bench;

/// <summary>Sample counts and switches, from `--name value` arguments (bench/bench.ps1 passes them through).</summary>
internal sealed class Options
{
    public int Iterations { get; private set; } = 15;

    public int Overrun { get; private set; } = 5;

    public int Bulk { get; set; } = 100;

    public int BulkRounds { get; private set; } = 1;

    public int Cold { get; private set; } = 5;

    public int Burst { get; private set; } = 1000;

    public int Trace { get; private set; } = 10;

    public string? Doc { get; private set; }

    /// <summary>PowerShell itself for the cold rows: its executable, or its pwsh.dll (bench/bench.ps1 passes the one it runs in).</summary>
    public string? Pwsh { get; private set; }

    /// <summary>The same PowerShell with its assemblies precompiled, as its release packages ship it (bench/bench.ps1 makes it with crossgen2); null: no such rows.</summary>
    public string? PwshPrecompiled { get; private set; }

    /// <summary>The module's manifest in a build without crossgen's cross-module inlining (bench/bench.ps1 builds it), for that lever's row.</summary>
    public string? NoCrossModule { get; private set; }

    /// <summary>Where the raw figures are saved; with <see cref="Render"/>, read instead of measured.</summary>
    public string? Results { get; private set; }

    public bool Render { get; private set; }

    public HashSet<string> Skip { get; } = new(StringComparer.OrdinalIgnoreCase);

    public static Options Parse(string[] args)
    {
        var o = new Options();
        for (int i = 0; i < args.Length; i++)
        {
            string name = args[i].TrimStart('-').ToLowerInvariant();
            string value = i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            int Int() => int.Parse(value, CultureInfo.InvariantCulture);
            switch (name)
            {
                case "iterations": o.Iterations = Int(); break;
                case "overrun": o.Overrun = Int(); break;
                case "bulk": o.Bulk = Int(); break;
                case "bulkrounds": o.BulkRounds = Int(); break;
                case "cold": o.Cold = Int(); break;
                case "burst": o.Burst = Int(); break;
                case "trace": o.Trace = Int(); break;
                case "doc": o.Doc = value.Length == 0 ? null : value; break;
                case "pwsh": o.Pwsh = value.Length == 0 ? null : value; break;
                case "pwshprecompiled": o.PwshPrecompiled = value.Length == 0 ? null : value; break;
                case "nocrossmodule": o.NoCrossModule = value.Length == 0 ? null : value; break;
                case "results": o.Results = value.Length == 0 ? null : value; break;
                case "render": o.Render = value == "true"; break;
                case "skip": o.Skip.UnionWith(value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)); break;
                default: throw new ArgumentException($"unknown option {args[i - 1]}");
            }
        }

        return o;
    }
}
