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
}
