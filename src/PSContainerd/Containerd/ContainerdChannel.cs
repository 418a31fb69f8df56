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
            // Long-lived event streams and Wait calls can sit on a dead peer (a hung shim, a
            // containerd that vanished without closing): pings find out.
            KeepAlivePingDelay = TimeSpan.FromSeconds(10),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(5),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.Always,
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
