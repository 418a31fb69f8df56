using System.Globalization;
using System.Text;

namespace PSContainerd.Bench;

/// <summary>The figures as a console table and as docs/performance.md with its chart.</summary>
internal sealed partial class Report
{
    private static readonly (string Key, string Title, string Unit)[] Figures =
    {
        ("stop", "Cooperative stop (PID 1 exits on SIGTERM), whole call", "ms"),
        ("overrun", "Escalation: -Timeout 1 on a PID 1 that ignores SIGTERM, time past the grace period", "ms"),
        ("bulk", "Bulk: containers stopped at once, wall time", "ms"),
        ("cold", "Cold start", "ms"),
        ("hash", "First lock-name hash in a fresh process", "ms"),
    };

    private readonly Samples _s;
    private readonly Machine _m;
    private readonly Breakdown? _b;
    private readonly BurstResult? _burst;
    private readonly Options _o;

    public Report(Samples samples, Machine machine, Breakdown? breakdown, BurstResult? burst, Options o)
    {
        _s = samples;
        _m = machine;
        _b = breakdown;
        _burst = burst;
        _o = o;
    }

    private static string F(double v) => v.ToString(v >= 100 ? "0" : "0.0", CultureInfo.InvariantCulture);

    private static string Signed(double v) => (v >= 0 ? "+" : "−") + F(Math.Abs(v));

    private static string X(double? v) => v is double d ? d.ToString("0.00", CultureInfo.InvariantCulture) + "×" : "–";

    private double? Med(string figure, string system) => _s.Median(figure, system);

    private double? Ratio(string figure, string system, string to) =>
        Med(figure, system) is double a && Med(figure, to) is double b && b > 0 && figure is not ("cold" or "hash") ? a / b : null;

    /// <summary>One table row per system: n, median, min–max, ratio to the floor and to dockerd.</summary>
    private IEnumerable<string[]> Rows(string figure) =>
        _s.Systems(figure).Select(sys =>
        {
            var xs = _s.Of(figure, sys)!;
            int failed = _s.Failures(figure, sys).Count;
            return new[] { sys, xs.Count.ToString(CultureInfo.InvariantCulture) + (failed > 0 ? $" (+{failed} failed)" : string.Empty), F(Stats.Median(xs)), $"{F(xs.Min())}–{F(xs.Max())}", X(Ratio(figure, sys, Runs.Floor)), X(Ratio(figure, sys, Runs.DockerApi)) };
        });

    /// <summary>What failed, per system: a failed sample is not in the median, so it is said.</summary>
    private IEnumerable<string> FailureNotes(string figure) =>
        _s.Systems(figure).Concat(_s.All.Where(x => x.Figure == figure && x.Error is not null).Select(x => x.System)).Distinct()
            .Select(sys => (sys, errors: _s.Failures(figure, sys)))
            .Where(x => x.errors.Count > 0)
            .Select(x => $"{x.sys}: {x.errors.Count} sample(s) failed ({string.Join("; ", x.errors.Distinct().Take(3))})");

    public void WriteConsole()
    {
        var o = Console.Out;
        o.WriteLine();
        o.WriteLine($"Machine: {_m.Summary}; load {_m.LoadAtStart} at start, {_m.LoadAtEnd} at end");
        o.WriteLine(string.Join(", ", _m.Versions.Select(v => $"{v.Name} {v.Version}")));
        foreach (var (key, title, unit) in Figures)
        {
            o.WriteLine();
            o.WriteLine($"{title} ({unit}{(key == "bulk" ? $", {_o.Bulk} containers" : string.Empty)})");
            o.WriteLine($"  {"system",-40} {"n",3} {"median",8} {"min–max",17} {"×floor",7} {"×dockerd",8}");
            foreach (var r in Rows(key))
            {
                o.WriteLine($"  {r[0],-40} {r[1],3} {r[2],8} {r[3],17} {r[4],7} {r[5],8}");
            }

            foreach (var f in FailureNotes(key))
            {
                o.WriteLine($"  {f}");
            }
        }

        foreach (var (module, bare, which) in ColdPairs())
        {
            o.WriteLine($"  module import + first call costs {Signed(module - bare)} ms over a bare pwsh ({which})");
        }

        foreach (var (lever, effect) in Levers())
        {
            o.WriteLine($"  lever: {lever}: {effect}");
        }

        if (_burst is { } b)
        {
            o.WriteLine();
            o.WriteLine($"Burst: {b.Count} exits through one engine: {b.Recorded} recorded right, {b.WrongOrLost} wrong or lost, {F(b.WallMs)} ms from the kills to the last exit recorded; engine memory per tracked container {b.ManagedBytesPerContainer / 1024:0.0} KiB managed{(b.FirstProblem is null ? string.Empty : $"; first problem: {b.FirstProblem}")}");
        }

        if (_b is { } t)
        {
            o.WriteLine();
            o.WriteLine($"Where a cooperative stop's time goes (module engine, median of {t.Stops} traced stops; ms after the call):");
            foreach (var row in t.Timeline)
            {
                o.WriteLine($"  {F(row.StartMs),8}  {row.What}{(row.DurationMs is double d ? $" ({F(d)} ms)" : string.Empty)}");
            }

            o.WriteLine($"  RPCs per stop: {string.Join(", ", t.Rpcs.Select(r => $"{r.Method} {r.PerStop:0.#}"))}");
            o.WriteLine($"  label writes per stop: {t.LabelWrites.Count}: {string.Join(" | ", t.LabelWrites)}");
            if (t.Escalation is { } x)
            {
                o.WriteLine($"Where an escalated stop's time goes (-Timeout 1, median of {x.Stops} traced stops; ms after the grace period ended):");
                foreach (var row in x.Timeline)
                {
                    o.WriteLine($"  {F(row.StartMs),8}  {row.What}{(row.DurationMs is double d ? $" ({F(d)} ms)" : string.Empty)}");
                }

                o.WriteLine($"  RPCs per escalated stop: {string.Join(", ", x.Rpcs.Select(r => $"{r.Method} {r.PerStop:0.#}"))}");
            }
        }

        o.WriteLine();
        foreach (var target in Targets())
        {
            o.WriteLine($"  [{(target.Met ? "met" : "NOT met")}] {target.Text}: {target.Figure}");
        }
    }
}
