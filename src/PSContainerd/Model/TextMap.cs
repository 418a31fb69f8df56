using System.Collections.ObjectModel;

namespace PSContainerd;

/// <summary>
/// A result's string map (Labels, an event's Attributes) whose text is `key=value; ...` in key
/// order: what ConvertTo-Csv and Export-Csv write instead of the dictionary's type name. Still an
/// IDictionary, so remoting brings it back as a hashtable and ConvertTo-Json writes an object.
/// </summary>
public sealed class TextMap : ReadOnlyDictionary<string, string>
{
    public static readonly TextMap None = new(new Dictionary<string, string>());

    private TextMap(IDictionary<string, string> items)
        : base(items)
    {
    }

    public static TextMap Of(IReadOnlyDictionary<string, string> items) =>
        items as TextMap ?? new TextMap(items.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal));

    public override string ToString() => string.Join("; ", this.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value}"));
}
