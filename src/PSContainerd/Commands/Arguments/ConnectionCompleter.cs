using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace PSContainerd.Commands;

/// <summary>
/// What the completers that ask containerd share: the -Address and -Namespace typed so far (else
/// the defaults), a short bound so Tab never hangs on a socket that does not answer, and silence
/// on failure (no completions rather than an error in the middle of typing).
/// </summary>
public abstract class ConnectionCompleter : IArgumentCompleter
{
    /// <summary>How long Tab may wait for containerd.</summary>
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(2);

    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        string address = fakeBoundParameters["Address"] is { } a && a.ToString() is { Length: > 0 } text
            ? SocketAddress.ToPath(text)
            : ContainerdCmdlet.DefaultAddressFromEnvironment;
        string ns = fakeBoundParameters["Namespace"] is { } n && n.ToString() is { Length: > 0 } nsText
            ? nsText
            : Environment.GetEnvironmentVariable("CONTAINERD_NAMESPACE") is { Length: > 0 } e ? e : "default";
        string word = (wordToComplete ?? string.Empty).Trim('\'', '"');
        try
        {
            using var cts = new CancellationTokenSource(Bound);
            return CompleteAsync(address, ns, word, cts.Token).WaitAsync(Bound).GetAwaiter().GetResult();
        }
        catch (Exception)
        {
            return Array.Empty<CompletionResult>();
        }
    }

    protected abstract Task<IReadOnlyList<CompletionResult>> CompleteAsync(string address, string @namespace, string word, CancellationToken ct);

    /// <summary>A value as the command line needs it: quoted when it holds characters PowerShell would split on.</summary>
    protected static string Quote(string value) =>
        value.Any(c => char.IsWhiteSpace(c) || c is '\'' or '"' or '$' or '`' or '(' or ')' or '{' or '}' or ',' or ';' or '@' or '&' or '|' or '#')
            ? "'" + value.Replace("'", "''") + "'"
            : value;
}
