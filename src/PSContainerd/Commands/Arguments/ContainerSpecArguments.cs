using System.Collections;
using System.Globalization;
using System.Management.Automation;
using System.Text.RegularExpressions;
using PSContainerd.Engine;

namespace PSContainerd.Commands;

/// <summary>
/// The rules New-Container's arguments are held to that need no session (no path to resolve):
/// each check returns the error to write, or null when the argument is fine.
/// </summary>
internal static class ContainerSpecArguments
{
    // containerd's identifiers.Validate: alphanumerics separated by single '.', '_' or '-', at most 76.
    private static readonly Regex IdRule = new("^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$", RegexOptions.CultureInvariant);
    private const int MaxIdLength = 76;

    public static ErrorRecord? CheckId(string id) =>
        id.Length > MaxIdLength || !IdRule.IsMatch(id) ? ErrorRecords.InvalidContainerId(id) : null;

    public static ErrorRecord? CheckEnvironment(string[] environment)
    {
        foreach (var e in environment)
        {
            int eq = e?.IndexOf('=', StringComparison.Ordinal) ?? -1;
            if (eq <= 0)
            {
                return ErrorRecords.InvalidContainerSpec("Environment", e ?? string.Empty, "is not of the form NAME=value");
            }
        }

        return null;
    }

    /// <param name="labels">The labels as strings; keys under the module's own prefix are refused.</param>
    public static ErrorRecord? CheckLabels(Hashtable? label, out Dictionary<string, string> labels)
    {
        labels = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (DictionaryEntry entry in label ?? new Hashtable())
        {
            string key = Convert.ToString(entry.Key, CultureInfo.InvariantCulture) ?? string.Empty;
            if (key.Length == 0 || key.StartsWith(StateLabels.Prefix, StringComparison.Ordinal))
            {
                return ErrorRecords.InvalidContainerSpec("Label", key,
                    key.Length == 0 ? "is an empty label key" : $"is a key the module keeps its own state in ('{StateLabels.Prefix}*'); use the matching parameter instead");
            }

            labels[key] = Convert.ToString(entry.Value, CultureInfo.InvariantCulture) ?? string.Empty;
        }

        return null;
    }

    public static ErrorRecord? CheckWorkingDirectory(string? workingDirectory) =>
        workingDirectory is not null && !workingDirectory.StartsWith('/')
            ? ErrorRecords.InvalidContainerSpec("WorkingDirectory", workingDirectory, "is not an absolute path inside the container")
            : null;

    /// <summary>
    /// The log file a container gets when New-Container is given neither -LogPath nor -NoLog:
    /// its path, or null with the warning to write when its folder cannot be made.
    /// </summary>
    public static (string? Path, string? Warning) DefaultLog(string address, string @namespace, string id)
    {
        string path = DefaultLogs.PathFor(address, @namespace, id);
        return DefaultLogs.Prepare(path) is { } why
            ? (null, $"Container '{id}' keeps no log: {why}. Give -LogPath, or -NoLog to say so.")
            : (path, null);
    }
}
