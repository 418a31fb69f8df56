using Grpc.Core;

namespace PSContainerd.Containerd;

/// <summary>
/// What a failed gRPC call to containerd becomes: cancellation by the caller, a socket-level
/// explanation (nothing listening, not a socket, another protocol), or a
/// <see cref="ContainerdException"/> whose <see cref="ContainerdErrorKind"/> the layers above branch on.
/// </summary>
internal static class ContainerdErrors
{
    public static Exception FromRpc(RpcException e, string address, CancellationToken ct)
    {
        if (e.StatusCode == StatusCode.Cancelled && ct.IsCancellationRequested)
        {
            return new OperationCanceledException(ct);
        }

        var kind = e.StatusCode switch
        {
            StatusCode.NotFound => ContainerdErrorKind.NotFound,
            StatusCode.AlreadyExists => ContainerdErrorKind.AlreadyExists,
            StatusCode.FailedPrecondition => ContainerdErrorKind.FailedPrecondition,
            StatusCode.InvalidArgument => ContainerdErrorKind.InvalidArgument,
            StatusCode.DeadlineExceeded => ContainerdErrorKind.DeadlineExceeded,
            StatusCode.PermissionDenied => ContainerdErrorKind.PermissionDenied,
            StatusCode.Unauthenticated => ContainerdErrorKind.PermissionDenied,
            StatusCode.Cancelled => ContainerdErrorKind.Cancelled,
            StatusCode.Unavailable => ContainerdErrorKind.Unavailable,
            _ => ContainerdErrorKind.Unknown,
        };

        if (SocketProbe.IsForeignProtocol(e))
        {
            return SocketProbe.ForeignProtocol(address, e);
        }

        if (kind == ContainerdErrorKind.Unavailable && SocketProbe.Find<System.Net.Sockets.SocketException>(e) is not null)
        {
            return SocketProbe.Explain(address, e);
        }

        if (kind == ContainerdErrorKind.Unavailable && SocketProbe.Describe(address) != "socket")
        {
            return SocketProbe.Explain(address, e);
        }

        string detail = string.IsNullOrEmpty(e.Status.Detail) ? e.StatusCode.ToString() : e.Status.Detail;
        if (kind == ContainerdErrorKind.DeadlineExceeded)
        {
            detail = $"containerd at '{address}' did not answer in time ({detail})";
        }

        return new ContainerdException(kind, address, detail, e);
    }
}
