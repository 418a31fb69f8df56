using System.Text.Json;
using PSContainerd.Containerd;

namespace PSContainerd.Engine;

/// <summary>
/// The stop signal and timeout a container's record in containerd holds, for containers whose
/// manager keeps its own stop settings elsewhere (dockerd in namespace <c>moby</c>, kubelet in
/// <c>k8s.io</c>): shown as that record has them, or unknown (null), never as the module's defaults,
/// which that manager does not use.
/// </summary>
internal static class RecordedStopSettings
{
    /// <summary>OCI image-spec's annotation for an image's STOPSIGNAL, and containerd's client's label (also set as an annotation by some tools).</summary>
    public static readonly string[] SignalKeys = { StateLabels.StopSignal, "org.opencontainers.image.stopSignal", StateLabels.ImageStopSignal };

    public static readonly string[] TimeoutKeys = { StateLabels.StopTimeout, StateLabels.NerdctlStopTimeout };

    /// <summary>The signal's name from the labels, else the spec's annotations; null when neither holds a valid one.</summary>
    public static string? Signal(ContainerRecord rec)
    {
        var annotations = Annotations(rec.SpecJson);
        foreach (var key in SignalKeys)
        {
            if ((rec.Labels.Get(key) ?? annotations.Get(key)) is string text && Signals.TryParse(text, out int sig))
            {
                return Signals.Name(sig);
            }
        }

        return null;
    }

    /// <summary>The stop timeout in seconds from the labels, else the spec's annotations; null when neither holds a valid one.</summary>
    public static int? Timeout(ContainerRecord rec)
    {
        var annotations = Annotations(rec.SpecJson);
        foreach (var key in TimeoutKeys)
        {
            if ((rec.Labels.Get(key) ?? annotations.Get(key)) is string text && StopSettings.ParseTimeout(text) is int t)
            {
                return t;
            }
        }

        return null;
    }

    private static IReadOnlyDictionary<string, string> Annotations(string? specJson)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (string.IsNullOrEmpty(specJson))
        {
            return result;
        }

        try
        {
            using var doc = JsonDocument.Parse(specJson);
            if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("annotations", out var a) && a.ValueKind == JsonValueKind.Object)
            {
                foreach (var p in a.EnumerateObject())
                {
                    if (p.Value.ValueKind == JsonValueKind.String)
                    {
                        result[p.Name] = p.Value.GetString()!;
                    }
                }
            }
        }
        catch (JsonException)
        {
            // A spec that is not JSON holds no stop settings the module can read.
        }

        return result;
    }
}
