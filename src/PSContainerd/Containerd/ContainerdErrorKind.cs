namespace PSContainerd.Containerd;

/// <summary>
/// The categories of failure the layers above branch on (as containerd's own errdefs do),
/// instead of parsing message text.
/// </summary>
public enum ContainerdErrorKind
{
    Unknown,
    /// <summary>Socket missing, not a socket, nothing listening, or the connection broke.</summary>
    Unavailable,
    PermissionDenied,
    NotFound,
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    DeadlineExceeded,
    Cancelled,
}

/// <summary>A containerd call that failed, with a category and the socket it went to.</summary>
public sealed class ContainerdException : Exception
{
    public ContainerdException(ContainerdErrorKind kind, string address, string message, Exception? inner = null)
        : base(message, inner)
    {
        Kind = kind;
        Address = address;
    }

    public ContainerdErrorKind Kind { get; }

    public string Address { get; }

    /// <summary>
    /// The same failure, its message led by what was being done (`container 'web' could not
    /// start: ...`): runc's and containerd's own text names a path or a pid, never the container.
    /// A socket-level failure already names the socket and is returned as it is.
    /// </summary>
    public ContainerdException For(string doing) =>
        Kind is ContainerdErrorKind.Unavailable or ContainerdErrorKind.PermissionDenied or ContainerdErrorKind.Cancelled
            ? this
            : new ContainerdException(Kind, Address, $"{doing}: {Message}", this);

    // containerd 1.6 reports several failures as gRPC Unknown, with only its shim's or runc's text
    // to tell them apart: that text is read here, so no layer above the client matches messages.

    /// <summary>
    /// containerd's own call to the shim ran out of time (Unknown "context deadline exceeded", seen
    /// with a frozen shim: that call carries our deadline): the request may have reached the shim.
    /// </summary>
    public bool ShimTimedOut =>
        Kind == ContainerdErrorKind.Unknown && Message.Contains("deadline exceeded", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The kernel refused a signal: the shim wraps runc's error as Unknown ("unknown error after
    /// kill: runc did not terminate successfully: exit status 1: permission denied").
    /// </summary>
    public bool KernelRefused =>
        Kind == ContainerdErrorKind.Unknown
        && (Message.Contains("permission denied", StringComparison.OrdinalIgnoreCase)
            || Message.Contains("operation not permitted", StringComparison.OrdinalIgnoreCase));

    /// <summary>A delete of a process the shim has not reaped yet: Unknown "cannot delete a running process".</summary>
    public bool ProcessStillRunning =>
        Kind == ContainerdErrorKind.Unknown && Message.Contains("running", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// A task create while an earlier create's shim is still being torn down: its bundle is still
    /// there ("mkdir …: file exists"), or its socket still accepted when the new shim looked (the
    /// runc shim then hands containerd the old shim's address instead of serving its own), and the
    /// old shim had closed by the time containerd dialled it ("dial unix …"), or the old bundle's
    /// removal took the new shim's folder as it wrote its address ("…/address: no such file or
    /// directory", a delete still finishing after the stop that began it returned).
    /// </summary>
    public bool ShimLeftover =>
        Message.Contains("failed to start shim", StringComparison.Ordinal)
        && (Message.Contains("file exists", StringComparison.Ordinal) || Message.Contains("dial unix", StringComparison.Ordinal)
            || Message.Contains("address: no such file or directory", StringComparison.Ordinal));
}
