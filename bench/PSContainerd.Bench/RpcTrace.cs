using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using System.Reflection;
using System.Text;
using Grpc.Net.Client;
using PSContainerd.Containerd;

namespace PSContainerd.Bench;

/// <summary>One gRPC call as the client saw it: method, namespace, start and response-headers times (Stopwatch ticks), label keys of an Update.</summary>
internal sealed record RpcCall(string Method, string Namespace, long Start, long End, string[] UpdatePaths);

/// <summary>
/// Counts and times every gRPC call this process makes to containerd, from the bench's side: the
/// module keeps one channel per socket in a private cache; the bench puts a channel of its own
/// there first, whose HTTP handler records each call (an HTTP/2 request per call, path =
/// /service/Method). The module's code is not changed. For a unary call containerd sends the
/// response headers when the call completes, so headers time is the call's duration.
/// </summary>
internal sealed class RpcTrace : DelegatingHandler
{
    private readonly ConcurrentQueue<RpcCall> _calls = new();

    private RpcTrace(HttpMessageHandler inner)
        : base(inner)
    {
    }

    public bool Recording { get; set; }

    /// <summary>Installs the tracing channel for <paramref name="address"/>; null when the module's channel cache is not where the bench expects it.</summary>
    public static RpcTrace? Install(string address)
    {
        var type = typeof(ContainerdClient).Assembly.GetType("PSContainerd.Containerd.ContainerdChannel");
        var field = type?.GetField("Channels", BindingFlags.NonPublic | BindingFlags.Static);
        if (field?.GetValue(null) is not ConcurrentDictionary<string, Lazy<GrpcChannel>> channels)
        {
            return null;
        }

        var trace = new RpcTrace(new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(address), ct);
                return new NetworkStream(socket, ownsSocket: true);
            },
            // The module's own settings (ContainerdChannel): pings as containerd's server allows
            // them, or it closes the connection at the third (GOAWAY too_many_pings) and every
            // stream on it, the bench's exit watch included, ends.
            KeepAlivePingDelay = TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(30),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(20),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
            EnableMultipleHttp2Connections = true,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
        });
        var channel = GrpcChannel.ForAddress("http://localhost", new GrpcChannelOptions { HttpHandler = trace, MaxReceiveMessageSize = 64 * 1024 * 1024 });
        return channels.TryAdd(address, new Lazy<GrpcChannel>(channel)) ? trace : null;
    }

    public RpcCall[] Take()
    {
        var list = new List<RpcCall>();
        while (_calls.TryDequeue(out var c))
        {
            list.Add(c);
        }

        return list.OrderBy(c => c.Start).ToArray();
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (!Recording)
        {
            return await base.SendAsync(request, cancellationToken);
        }

        long start = Stopwatch.GetTimestamp();
        string method = request.RequestUri?.AbsolutePath.TrimStart('/') ?? "?";
        string ns = request.Headers.TryGetValues("containerd-namespace", out var v) ? v.FirstOrDefault() ?? string.Empty : string.Empty;
        string[] paths = Array.Empty<string>();
        if (method.EndsWith("Containers/Update", StringComparison.Ordinal) && request.Content is not null)
        {
            // Buffered so it can still be sent; the field mask names the label keys written.
            await request.Content.LoadIntoBufferAsync();
            paths = MaskPaths(await request.Content.ReadAsByteArrayAsync(cancellationToken));
        }

        var response = await base.SendAsync(request, cancellationToken);
        _calls.Enqueue(new RpcCall(method.Split('.').Last(), ns, start, Stopwatch.GetTimestamp(), paths));
        return response;
    }

    /// <summary>UpdateContainerRequest.update_mask (2) → FieldMask.paths (1), from a gRPC frame (5-byte prefix).</summary>
    private static string[] MaskPaths(byte[] frame)
    {
        try
        {
            var paths = new List<string>();
            var msg = frame.AsSpan(5);
            while (!msg.IsEmpty)
            {
                ulong key = Varint(ref msg);
                if ((key & 7) != 2)
                {
                    return paths.ToArray(); // only length-delimited fields in this message
                }

                int len = (int)Varint(ref msg);
                var body = msg[..len];
                msg = msg[len..];
                while ((key >> 3) == 2 && !body.IsEmpty)
                {
                    ulong k = Varint(ref body);
                    int l = (int)Varint(ref body);
                    if ((k >> 3) == 1)
                    {
                        paths.Add(Encoding.UTF8.GetString(body[..l]));
                    }

                    body = body[l..];
                }
            }

            return paths.ToArray();
        }
        catch (ArgumentOutOfRangeException)
        {
            return new[] { "?" };
        }
    }

    private static ulong Varint(ref Span<byte> s)
    {
        ulong v = 0;
        for (int shift = 0; ; shift += 7)
        {
            byte b = s[0];
            s = s[1..];
            v |= (ulong)(b & 0x7f) << shift;
            if ((b & 0x80) == 0)
            {
                return v;
            }
        }
    }
}
