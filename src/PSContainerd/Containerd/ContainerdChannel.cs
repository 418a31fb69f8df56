using System.Collections.Concurrent;
using System.Net.Sockets;
using Grpc.Net.Client;

namespace PSContainerd.Containerd;

/// <summary>
/// One HTTP/2 channel per socket path, reused by every client in the process. With a
/// ConnectCallback the channel's own ConnectAsync/State are unsupported, so reachability is
/// learned from calls (see <see cref="ContainerdClient.VersionAsync"/>).
/// </summary>
internal static class ContainerdChannel
{
    // Lazy: GetOrAdd may run its factory twice under a race, and a second channel would be left
    // behind undisposed; the Lazy makes the one that is kept the only one ever made.
    private static readonly ConcurrentDictionary<string, Lazy<GrpcChannel>> Channels = new(StringComparer.Ordinal);

    /// <summary>Silence on a connection, with calls in flight, before a ping: past grpc-go's 5-minute minimum between pings, which containerd's server enforces.</summary>
    public static readonly TimeSpan KeepAlivePingDelay = TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(30);

    /// <summary>The channel to <paramref name="address"/>, made at the first call that needs it.</summary>
    public static GrpcChannel For(string address) => Channels.GetOrAdd(address, a => new Lazy<GrpcChannel>(() => Create(a))).Value;

    private static GrpcChannel Create(string address)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(address), ct).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
            // Pings find a containerd that stopped answering without closing its socket (one that
            // died closes it, which needs none), under a long-lived event stream or Wait call.
            // containerd's gRPC server enforces grpc-go's keepalive policy: a ping within 5 minutes
            // of the last, or any ping with no call in flight, is a strike, and at the third it
            // closes the connection (GOAWAY "too_many_pings"): every call on it fails Unavailable
            // and the event stream ends. With a ping every 10 s an idle engine's connection was
            // dropped every 45 s. So: only with calls in flight, and no sooner than the policy allows.
            KeepAlivePingDelay = KeepAlivePingDelay,
            KeepAlivePingTimeout = TimeSpan.FromSeconds(20),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
            // Hundreds of concurrent Tasks.Wait streams must not queue behind one connection's limit.
            EnableMultipleHttp2Connections = true,
            ConnectTimeout = TimeSpan.FromSeconds(5),
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
        };
        return GrpcChannel.ForAddress("http://localhost", new GrpcChannelOptions
        {
            HttpHandler = handler,
            DisposeHttpClient = true,
            MaxReceiveMessageSize = 64 * 1024 * 1024,
        });
    }
}
