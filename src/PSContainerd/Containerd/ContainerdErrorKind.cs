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
}
