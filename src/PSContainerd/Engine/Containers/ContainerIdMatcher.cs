using System.Text;
using System.Text.RegularExpressions;

namespace PSContainerd.Engine;

/// <summary>
/// Which containers an -Id names, given every id of the namespace. Exact ids first; then
/// PowerShell wildcards (case-insensitive, as Stop-Process -Name); then a unique prefix, accepted
/// only for 64-hex ids (docker and nerdctl prefix-match generated ids, never names: `pay` must
/// never mean `payments-db`). Pure: no containerd, no state.
/// </summary>
public static class ContainerIdMatcher
{
    /// <summary>The length of a generated id (sha256 in hex, as docker and nerdctl make them).</summary>
    public const int HexIdLength = 64;

    /// <summary>True when <paramref name="text"/> has an unescaped *, ? or [ (PowerShell's wildcard characters).</summary>
    public static bool IsPattern(string text)
    {
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] == '`')
            {
                i++;
            }
            else if (text[i] is '*' or '?' or '[')
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// The ids <paramref name="text"/> names among <paramref name="ids"/>, sorted. Throws
    /// <see cref="ContainerLookupException"/>: Empty for blank text, NotFound when nothing matches
    /// (also for a wildcard, unless <paramref name="emptyPatternIsError"/> is false), Ambiguous for
    /// a hex prefix shared by several ids. <paramref name="where"/> names the namespace and socket
    /// in the message.
    /// </summary>
    public static IReadOnlyList<string> Match(string text, IEnumerable<string> ids, string where, bool emptyPatternIsError = true)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new ContainerLookupException(LookupFailure.Empty, text ?? string.Empty, "The container id is empty.");
        }

        var all = ids as IReadOnlyCollection<string> ?? ids.ToList();
        if (all.Contains(text, StringComparer.Ordinal))
        {
            return new[] { text };
        }

        if (IsPattern(text))
        {
            var pattern = ToRegex(text);
            var matched = all.Where(i => pattern.IsMatch(i)).OrderBy(i => i, StringComparer.Ordinal).ToList();
            if (matched.Count == 0 && emptyPatternIsError)
            {
                throw new ContainerLookupException(LookupFailure.NotFound, text, $"No container matches '{text}' {where}.");
            }

            return matched;
        }

        if (!IsHexPrefix(text))
        {
            throw new ContainerLookupException(LookupFailure.NotFound, text,
                $"No container with id '{text}' {where}. Names match exactly; only generated 64-hex ids match by prefix.");
        }

        var candidates = all.Where(i => IsHexId(i) && i.StartsWith(text, StringComparison.Ordinal)).OrderBy(i => i, StringComparer.Ordinal).ToList();
        return candidates.Count switch
        {
            1 => candidates,
            0 => throw new ContainerLookupException(LookupFailure.NotFound, text, $"No container with id or id prefix '{text}' {where}."),
            _ => throw new ContainerLookupException(LookupFailure.Ambiguous, text,
                $"The id prefix '{text}' matches {candidates.Count} containers {where}: {string.Join(", ", candidates.Take(10))}{(candidates.Count > 10 ? ", ..." : string.Empty)}. Give more of the id.", candidates),
        };
    }

    /// <summary>
    /// PowerShell's wildcard language (*, ?, [set], [a-z], backtick escapes) as an anchored,
    /// case-insensitive regex; the engine stays free of System.Management.Automation.
    /// </summary>
    internal static Regex ToRegex(string pattern)
    {
        var sb = new StringBuilder("^");
        for (int i = 0; i < pattern.Length; i++)
        {
            char c = pattern[i];
            switch (c)
            {
                case '`' when i + 1 < pattern.Length:
                    sb.Append(Regex.Escape(pattern[++i].ToString()));
                    break;
                case '*':
                    sb.Append(".*");
                    break;
                case '?':
                    sb.Append('.');
                    break;
                case '[':
                    int end = pattern.IndexOf(']', i + 1);
                    if (end <= i + 1)
                    {
                        sb.Append(@"\[");
                        break;
                    }

                    string set = pattern[(i + 1)..end];
                    sb.Append('[').Append(set.Replace(@"\", @"\\").Replace("^", @"\^")).Append(']');
                    i = end;
                    break;
                default:
                    sb.Append(Regex.Escape(c.ToString()));
                    break;
            }
        }

        return new Regex(sb.Append('$').ToString(), RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
    }

    /// <summary>
    /// Whether <paramref name="text"/> can name a container other than one with exactly that id
    /// (a wildcard, or a prefix of a generated id): only then must every id of the namespace be
    /// listed. Any other text is resolved by looking that one id up.
    /// </summary>
    public static bool NeedsList(string? text) => !string.IsNullOrEmpty(text) && (IsPattern(text) || IsHexPrefix(text));

    /// <summary>A whole generated id: 64 lowercase hex digits.</summary>
    public static bool IsHexId(string id) => id.Length == HexIdLength && id.All(IsLowerHex);

    private static bool IsHexPrefix(string text) => text.Length < HexIdLength && text.All(IsLowerHex);

    private static bool IsLowerHex(char c) => c is >= '0' and <= '9' or >= 'a' and <= 'f';
}
