using System.Globalization;

namespace PSContainerd.Engine;

/// <summary>A stop's signal and grace period, resolved from what the caller gave and what the container's labels say.</summary>
public sealed record StopSettings(int Signal, int TimeoutSeconds)
{
    /// <summary>moby's default grace period (container.DefaultStopTimeout).</summary>
    public const int DefaultTimeoutSeconds = 10;

    /// <summary>
    /// Signal: the caller's, else the module's label, else the image's stop-signal label, else
    /// SIGTERM. Timeout: the caller's, else the module's label, else nerdctl's, else 10 s. A label
    /// holding garbage falls back to the default and adds a warning.
    /// </summary>
    public static StopSettings Resolve(IReadOnlyDictionary<string, string> labels, int? signal, int? timeout, ICollection<string> warnings)
    {
        int sig = signal ?? FromLabels(labels, warnings, Signals.SIGTERM, "stop signal", ParseSignal, StateLabels.StopSignal, StateLabels.ImageStopSignal);
        int t = timeout ?? FromLabels(labels, warnings, DefaultTimeoutSeconds, "stop timeout", ParseTimeout, StateLabels.StopTimeout, StateLabels.NerdctlStopTimeout);
        return new StopSettings(sig, t);
    }

    public static int? ParseSignal(string text) => Signals.TryParse(text, out var s) ? s : null;

    public static int? ParseTimeout(string text) =>
        int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) && n >= -1 ? n : null;

    private static int FromLabels(IReadOnlyDictionary<string, string> labels, ICollection<string> warnings, int fallback, string what, Func<string, int?> parse, params string[] keys)
    {
        foreach (var key in keys)
        {
            if (labels.TryGetValue(key, out var text))
            {
                if (parse(text) is int v)
                {
                    return v;
                }

                warnings.Add($"label {key}='{text}' is not a valid {what}; using {(what == "stop signal" ? Signals.Name(fallback) : fallback + " s")}.");
                return fallback;
            }
        }

        return fallback;
    }
}
