using System.Globalization;
using System.Management.Automation;
using System.Text.RegularExpressions;
using System.Xml;

namespace PSContainerd.Commands;

/// <summary>
/// Lets -Since take a point in time or how long ago, as docker logs --since does: a DateTime, a
/// TimeSpan, `10m`/`1h30m`/`90s`, `00:10:00`, ISO-8601 `PT10M`, or a date text. A duration
/// means that long before now. The cmdlet gets a UTC DateTime.
/// </summary>
public sealed partial class SinceTransformation : ArgumentTransformationAttribute
{
    [GeneratedRegex(@"^(?:(?<h>\d+(?:\.\d+)?)h)?(?:(?<m>\d+(?:\.\d+)?)m)?(?:(?<s>\d+(?:\.\d+)?)s)?$", RegexOptions.IgnoreCase)]
    private static partial Regex Relative();

    public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
    {
        object value = inputData is PSObject p ? p.BaseObject : inputData;
        return value switch
        {
            DateTime d => d.ToUniversalTime(),
            DateTimeOffset o => o.UtcDateTime,
            TimeSpan t => DateTime.UtcNow - t,
            string s => FromText(s.Trim()),
            _ => throw new ArgumentTransformationMetadataException($"-Since takes a DateTime, a TimeSpan or a text such as 10m, 1h30m, 00:10:00 or 2026-12-03T08:00:00Z; not {value?.GetType().Name ?? "null"}."),
        };
    }

    private static DateTime FromText(string s)
    {
        if (s.Length > 0 && Relative().Match(s) is { Success: true } m)
        {
            double Part(string g) => m.Groups[g].Success ? double.Parse(m.Groups[g].Value, CultureInfo.InvariantCulture) : 0;
            return DateTime.UtcNow - TimeSpan.FromHours(Part("h")) - TimeSpan.FromMinutes(Part("m")) - TimeSpan.FromSeconds(Part("s"));
        }

        if (s.StartsWith('P'))
        {
            try
            {
                return DateTime.UtcNow - XmlConvert.ToTimeSpan(s);
            }
            catch (FormatException)
            {
            }
        }

        // Only hh:mm:ss forms: a bare "10" would be ten days to TimeSpan and a unix time to docker.
        if (s.Contains(':') && TimeSpan.TryParse(s, CultureInfo.InvariantCulture, out var span))
        {
            return DateTime.UtcNow - span;
        }

        if (DateTime.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeLocal, out var at))
        {
            return at;
        }

        throw new ArgumentTransformationMetadataException($"-Since '{s}' is neither a time (2026-12-03T08:00:00Z) nor a duration (10m, 1h30m, 90s, 00:10:00, PT10M).");
    }
}
