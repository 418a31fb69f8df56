using System.Management.Automation;
using PSContainerd.Containerd;
using PSContainerd.Engine;

namespace PSContainerd.Commands;

/// <summary>
/// Every failure a user sees, as an ErrorRecord with a specific FullyQualifiedErrorId and
/// category (the README and each cmdlet's docs/ page list them); nothing escapes as a bare .NET exception.
/// </summary>
internal static class ErrorRecords
{
    public static ErrorRecord ContainerNotFound(string id, string message) =>
        Make(new ItemNotFoundException(message), "ContainerNotFound", ErrorCategory.ObjectNotFound, id);

    public static ErrorRecord AmbiguousContainerId(string id, string message) =>
        Make(new ArgumentException(message), "AmbiguousContainerId", ErrorCategory.InvalidArgument, id);

    public static ErrorRecord EmptyContainerId() =>
        Make(new ArgumentException("The container id is empty."), "EmptyContainerId", ErrorCategory.InvalidArgument, string.Empty);

    public static ErrorRecord InvalidSignal(string text) =>
        Make(new ArgumentException($"'{text}' is not a valid signal: give a name such as SIGTERM or TERM, or a number from 1 to {Signals.Max}."), "InvalidSignal", ErrorCategory.InvalidArgument, text);

    public static ErrorRecord InvalidRestartPolicy(string text) =>
        Make(new ArgumentException($"'{text}' is not a restart policy: use no, always, unless-stopped or on-failure[:N]."), "InvalidRestartPolicy", ErrorCategory.InvalidArgument, text);

    public static ErrorRecord InvalidRootFs(string path, string why) =>
        Make(new ArgumentException($"-RootFs '{path}' {why}."), "InvalidRootFs", ErrorCategory.InvalidArgument, path);

    public static ErrorRecord InvalidContainerId(string id) =>
        Make(new ArgumentException($"'{id}' is not a valid container id: use 1 to 76 letters, digits, '.', '_' or '-', starting and ending with a letter or digit, with no two of '.', '_', '-' in a row (containerd's identifier rule)."), "InvalidContainerId", ErrorCategory.InvalidArgument, id);

    /// <summary>A New-Container argument other than the id, root filesystem, signal or restart policy (environment, label, log path, working directory).</summary>
    public static ErrorRecord InvalidContainerSpec(string parameter, string value, string why) =>
        Make(new ArgumentException($"-{parameter} '{value}' {why}."), "InvalidContainerSpec", ErrorCategory.InvalidArgument, value);

    /// <summary>The restart duty's lock folder is a link, another user's, or writable by others: nothing in it is opened (docs/supervisor.md, threat model).</summary>
    public static ErrorRecord UnsafeLockFolder(string why, string target) =>
        Make(new UnauthorizedAccessException($"No process can hold the restart duty safely here: {why}."), "UnsafeLockFolder", ErrorCategory.SecurityError, target);

    public static ErrorRecord ForeignNamespace(string ns, string owner) =>
        Make(new UnauthorizedAccessException($"Namespace '{ns}' is managed by {owner}, which would fight this change. Use -Force to act anyway."), "ForeignNamespace", ErrorCategory.PermissionDenied, ns);

    /// <summary>containerd/runc could not deliver a signal: kill(2) answered EACCES/EPERM (docs/failure-modes.md row 9).</summary>
    public static ErrorRecord SignalRefused(string id, string detail) =>
        Make(new UnauthorizedAccessException($"Container {id}: {detail}."), "SignalRefused", ErrorCategory.PermissionDenied, id);

    public static ErrorRecord StopFailed(StopResult r) =>
        Make(new TimeoutException(r.Error), "StopFailed", ErrorCategory.OperationTimeout, r.Id);

    /// <summary>
    /// The errors a StopResult stands for: a refused signal is its own error whatever the outcome
    /// (the refusal is a policy problem to fix), and a failed stop is StopFailed.
    /// </summary>
    public static IEnumerable<ErrorRecord> ForStop(StopResult result)
    {
        foreach (var r in result.Steps.Where(s => s.Action == "refused"))
        {
            yield return SignalRefused(result.Id, r.Detail);
        }

        if (result.Outcome == StopOutcome.Failed)
        {
            yield return StopFailed(result);
        }
    }

    public static ErrorRecord Make(Exception e, string id, ErrorCategory category, object? target) => new(e, id, category, target);

    /// <summary>Maps an engine or client failure to its ErrorRecord; false for exceptions that are not ours to translate.</summary>
    public static bool TryFrom(Exception e, string target, out ErrorRecord record)
    {
        record = e switch
        {
            ContainerLookupException { Failure: LookupFailure.NotFound } l => ContainerNotFound(target, l.Message),
            ContainerLookupException { Failure: LookupFailure.Ambiguous } l => AmbiguousContainerId(target, l.Message),
            ContainerLookupException { Failure: LookupFailure.Empty } => EmptyContainerId(),
            ImageException { Failure: ImageFailure.NotFound } i => Make(i, "ImageNotFound", ErrorCategory.ObjectNotFound, i.Image),
            ImageException { Failure: ImageFailure.NotUnpacked } i => Make(i, "ImageNotUnpacked", ErrorCategory.ResourceUnavailable, i.Image),
            ImageException i => Make(i, "InvalidImage", ErrorCategory.InvalidData, i.Image),
            ContainerdException c => FromContainerd(c, target),
            _ => null!,
        };
        return record is not null;
    }

    private static ErrorRecord FromContainerd(ContainerdException e, string target) => e.Kind switch
    {
        ContainerdErrorKind.Unavailable => Make(e, "ContainerdUnavailable", ErrorCategory.ConnectionError, e.Address),
        ContainerdErrorKind.PermissionDenied => Make(e, "ContainerdPermissionDenied", ErrorCategory.PermissionDenied, e.Address),
        ContainerdErrorKind.NotFound => Make(e, "ContainerNotFound", ErrorCategory.ObjectNotFound, target),
        ContainerdErrorKind.AlreadyExists => Make(e, "ContainerExists", ErrorCategory.ResourceExists, target),
        ContainerdErrorKind.FailedPrecondition => Make(e, "InvalidContainerState", ErrorCategory.InvalidOperation, target),
        ContainerdErrorKind.InvalidArgument => Make(e, "InvalidArgument", ErrorCategory.InvalidArgument, target),
        ContainerdErrorKind.DeadlineExceeded => Make(e, "ContainerdTimeout", ErrorCategory.OperationTimeout, target),
        _ => Make(e, "ContainerdError", ErrorCategory.NotSpecified, target),
    };
}
