namespace PSContainerd.Bench;

/// <summary>One sample of one figure for one system.</summary>
internal sealed record Sample(string Figure, string System, double Ms, string? Error = null);

/// <summary>Every sample taken, by figure and system, in milliseconds.</summary>
internal sealed class Samples
{
    private readonly Dictionary<(string Figure, string System), List<double>> _all = new();

    /// <summary>Every sample, in the order taken (what results.json keeps).</summary>
    public List<Sample> All { get; } = new();

    public void Add(string figure, string system, double ms)
    {
        All.Add(new Sample(figure, system, ms));
        if (!_all.TryGetValue((figure, system), out var list))
        {
            _all[(figure, system)] = list = new List<double>();
        }

        list.Add(ms);
    }

    /// <summary>A sample that failed: kept, said in the table, never averaged.</summary>
    public void Fail(string figure, string system, string error) => All.Add(new Sample(figure, system, 0, error));

    public IReadOnlyList<string> Failures(string figure, string system) =>
        All.Where(s => s.Error is not null && s.Figure == figure && s.System == system).Select(s => s.Error!).ToList();

    public IReadOnlyList<double>? Of(string figure, string system) => _all.TryGetValue((figure, system), out var l) && l.Count > 0 ? l : null;

    public double? Median(string figure, string system) => Of(figure, system) is { } l ? Stats.Median(l) : null;

    /// <summary>The systems with samples for <paramref name="figure"/>, in the order they were first sampled in a round without rotation.</summary>
    public IEnumerable<string> Systems(string figure) =>
        _all.Keys.Where(k => k.Figure == figure && _all[k].Count > 0).Select(k => k.System)
            .OrderBy(s => Array.IndexOf(Runs.Order, s) is int i and >= 0 ? i : int.MaxValue).ThenBy(s => s, StringComparer.Ordinal);

    public static Samples From(IEnumerable<Sample> all)
    {
        var s = new Samples();
        foreach (var x in all)
        {
            if (x.Error is null)
            {
                s.Add(x.Figure, x.System, x.Ms);
            }
            else
            {
                s.Fail(x.Figure, x.System, x.Error);
            }
        }

        return s;
    }
}

internal static class Stats
{
    public static double Median(IReadOnlyList<double> xs)
    {
        var s = xs.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[(s.Length / 2) - 1] + s[s.Length / 2]) / 2;
    }
}
