using System.Collections.ObjectModel;

namespace PSContainerd;

/// <summary>
/// A result's list (a stop's Steps and Warnings) whose text is its items joined by "; ":
/// what ConvertTo-Csv, Export-Csv and "$($r.Steps)" write instead of the list's type name.
/// </summary>
public sealed class TextList<T> : ReadOnlyCollection<T>
{
    public static readonly TextList<T> None = new(Array.Empty<T>());

    private TextList(IList<T> items)
        : base(items)
    {
    }

    public static TextList<T> Of(IEnumerable<T> items) => items as TextList<T> ?? new TextList<T>(items.ToArray());

    public override string ToString() => string.Join("; ", this);
}
