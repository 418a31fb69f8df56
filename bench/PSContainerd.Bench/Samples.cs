namespace PSContainerd.Bench;

/// <summary>Every sample taken, by figure and system, in milliseconds.</summary>
internal sealed class Samples
{
    private readonly Dictionary<(string Figure, string System), List<double>> _all = new();

    public void Add(string figure, string system, double ms)
    {
        if (!_all.TryGetValue((figure, system), out var list))
        {
            _all[(figure, system)] = list = new List<double>();
        }

        list.Add(ms);
    }

    public IReadOnlyList<double>? Of(string figure, string system) => _all.TryGetValue((figure, system), out var l) && l.Count > 0 ? l : null;

    public double? Median(string figure, string system) => Of(figure, system) is { } l ? Stats.Median(l) : null;

    /// <summary>The systems with samples for <paramref name="figure"/>, in the order they were first sampled in a round without rotation.</summary>
    public IEnumerable<string> Systems(string figure) =>
        _all.Keys.Where(k => k.Figure == figure && _all[k].Count > 0).Select(k => k.System)
            .OrderBy(s => Order.IndexOf(s) is int i and >= 0 ? i : int.MaxValue).ThenBy(s => s, StringComparer.Ordinal);

    /// <summary>Rows in this order: the floor first, then the module, then the others.</summary>
    public List<string> Order { get; } = new();
}

internal static class Stats
{
    public static double Median(IReadOnlyList<double> xs)
    {
        var s = xs.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[(s.Length / 2) - 1] + s[s.Length / 2]) / 2;
    }
}
