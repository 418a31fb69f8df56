using System.Globalization;
using System.Text;

namespace PSContainerd.Bench;

/// <summary>
/// The chart for docs/performance.md, drawn by gnuplot (Debian's gnuplot-nox): every cooperative
/// stop sample per system on a log scale with its median, and the bulk wall time per system.
/// </summary>
internal static class Chart
{
    public static async Task<bool> Draw(Samples s, string png, int bulk)
    {
        if (!File.Exists("/usr/bin/gnuplot"))
        {
            return false;
        }

        string dir = Directory.CreateTempSubdirectory("pscd-chart-").FullName;
        try
        {
            var inv = CultureInfo.InvariantCulture;
            var stopSystems = s.Systems("stop").ToList();
            var points = new StringBuilder();
            var medians = new StringBuilder();
            for (int i = 0; i < stopSystems.Count; i++)
            {
                var xs = s.Of("stop", stopSystems[i])!;
                for (int k = 0; k < xs.Count; k++)
                {
                    points.Append(inv, $"{i + (((k % 9) - 4) * 0.05)} {xs[k]}\n");
                }

                medians.Append(inv, $"{i - 0.32} {Stats.Median(xs)} 0.64 0\n");
            }

            var bars = new StringBuilder();
            foreach (var sys in s.Systems("bulk"))
            {
                bars.Append(inv, $"\"{Label(sys)}\" {s.Median("bulk", sys)!.Value / 1000}\n");
            }

            await File.WriteAllTextAsync(Path.Combine(dir, "points.dat"), points.ToString());
            await File.WriteAllTextAsync(Path.Combine(dir, "medians.dat"), medians.ToString());
            await File.WriteAllTextAsync(Path.Combine(dir, "bulk.dat"), bars.ToString());
            string xtics = string.Join(", ", stopSystems.Select((sys, i) => $"\"{Label(sys)}\" {i}"));
            string script = $"""
                set terminal pngcairo size 1600,720 font 'DejaVu Sans,11'
                set output '{png}'
                set multiplot layout 1,2 columnsfirst
                set lmargin 10
                set bmargin 11
                set title 'Cooperative stop: every sample (dots) and the median (bar)'
                set logscale y
                set ylabel 'ms (log scale)'
                set grid ytics mytics
                set xrange [-0.6:{stopSystems.Count - 0.4}]
                set xtics ({xtics}) rotate by 35 right nomirror
                plot '{dir}/points.dat' using 1:2 with points pt 7 ps 0.7 lc rgb '#4477aa' notitle, \
                     '{dir}/medians.dat' using 1:2:3:4 with vectors nohead lw 4 lc rgb '#cc3311' notitle
                unset logscale y
                set title '{bulk} containers stopped at once: wall time (median)'
                set ylabel 's'
                set xrange [*:*]
                set yrange [0:*]
                set style fill solid 0.75 border -1
                set boxwidth 0.6
                set xtics autofreq rotate by 35 right nomirror
                plot '{dir}/bulk.dat' using 0:2:xtic(1) with boxes lc rgb '#228833' notitle, \
                     '{dir}/bulk.dat' using 0:2:(sprintf('%.2f s', $2)) with labels offset 0,0.8 notitle
                unset multiplot
                """;
            await File.WriteAllTextAsync(Path.Combine(dir, "chart.gp"), script);
            var r = await Proc.Run("/usr/bin/gnuplot", new[] { Path.Combine(dir, "chart.gp") }, TimeSpan.FromSeconds(60));
            if (r.Code != 0)
            {
                Console.Error.WriteLine($"gnuplot failed: {r.Err.Trim()}");
                return false;
            }

            return true;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static string Label(string system) => system.Replace("'", string.Empty, StringComparison.Ordinal).Replace("\"", string.Empty, StringComparison.Ordinal);
}
