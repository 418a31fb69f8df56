using System.Runtime.CompilerServices;
using System.Text;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using PSContainerd.Containerd.Api.Containers;
using PSContainerd.Containerd.Api.Events;
using PSContainerd.Containerd.Api.Tasks;
using Proto = PSContainerd.Containerd.Api;

namespace PSContainerd.Containerd;

/// <summary>
/// containerd over gRPC for one (socket, namespace): typed calls, the namespace header on every
/// call, a deadline on every unary call, and failures as <see cref="ContainerdException"/>.
/// No protobuf type crosses this class's public surface.
/// </summary>
public sealed partial class ContainerdClient
{
    public const string SpecTypeUrl = "types.containerd.io/opencontainers/runtime-spec/1/Spec";

    /// <summary>Default deadline for unary calls: long enough for a loaded shim, short enough that a hung one is noticed.</summary>
    public static readonly TimeSpan DefaultDeadline = TimeSpan.FromSeconds(10);

    private readonly Metadata _headers;

    // Created at the first call that needs them, not with the client: an engine is made for every
    // (socket, namespace) a cmdlet names, and making the channel (an HTTP/2 handler, gRPC's
    // balancer) is start-up work a call that fails earlier, or never comes, should not pay.
    // Each is a thin wrapper over the one shared channel, so a race that makes two is harmless.
    private Containers.ContainersClient? _containers;
    private Tasks.TasksClient? _tasks;
    private Events.EventsClient? _events;
    private Proto.Version.Version.VersionClient? _version;

    public ContainerdClient(string address, string @namespace)
    {
        Address = address;
        Namespace = @namespace;
        _headers = new Metadata { { "containerd-namespace", @namespace } };
    }

    private Containers.ContainersClient ContainersApi => _containers ??= new Containers.ContainersClient(ContainerdChannel.For(Address));

    private Tasks.TasksClient TasksApi => _tasks ??= new Tasks.TasksClient(ContainerdChannel.For(Address));

    private Events.EventsClient EventsApi => _events ??= new Events.EventsClient(ContainerdChannel.For(Address));

    private Proto.Version.Version.VersionClient VersionApi => _version ??= new Proto.Version.Version.VersionClient(ContainerdChannel.For(Address));

    public string Address { get; }

    public string Namespace { get; }

    /// <summary>The cheap probe: answers when containerd is there, else an Unavailable error naming the path.</summary>
    public Task<VersionInfo> VersionAsync(CancellationToken ct = default, TimeSpan? deadline = null) =>
        Unary(async o => { var r = await VersionApi.VersionAsync(new Empty(), o); return new VersionInfo(r.Version, r.Revision); }, ct, deadline);

    public Task<ContainerRecord> GetContainerAsync(string id, CancellationToken ct = default) =>
        Unary(async o => ToRecord((await ContainersApi.GetAsync(new GetContainerRequest { Id = id }, o)).Container), ct);

    public Task<IReadOnlyList<ContainerRecord>> ListContainersAsync(CancellationToken ct = default, params string[] filters) =>
        Unary<IReadOnlyList<ContainerRecord>>(async o =>
        {
            var req = new ListContainersRequest();
            req.Filters.AddRange(filters);
            var r = await ContainersApi.ListAsync(req, o);
            return r.Containers.Select(ToRecord).ToList();
        }, ct);

    public Task<ContainerRecord> CreateContainerAsync(ContainerCreateSpec spec, CancellationToken ct = default) =>
        Unary(async o =>
        {
            var c = new Container
            {
                Id = spec.Id,
                Runtime = new Container.Types.Runtime { Name = spec.Runtime },
                Spec = new Any { TypeUrl = SpecTypeUrl, Value = ByteString.CopyFromUtf8(spec.SpecJson) },
                Image = spec.Image,
                Snapshotter = spec.Snapshotter,
                SnapshotKey = spec.SnapshotKey,
            };
            foreach (var (k, v) in spec.Labels)
            {
                c.Labels[k] = v;
            }

            return ToRecord((await ContainersApi.CreateAsync(new CreateContainerRequest { Container = c }, o)).Container);
        }, ct);

    /// <summary>
    /// Sets (or, with a null value, deletes) the given labels only: one <c>labels.KEY</c> path per
    /// key in the field mask, so writers of other keys are never overwritten.
    /// </summary>
    public Task<ContainerRecord> UpdateLabelsAsync(string id, IReadOnlyDictionary<string, string?> labels, CancellationToken ct = default) =>
        Unary(async o =>
        {
            var c = new Container { Id = id };
            var mask = new FieldMask();
            foreach (var (key, value) in labels)
            {
                mask.Paths.Add("labels." + key);
                if (!string.IsNullOrEmpty(value))
                {
                    c.Labels[key] = value;
                }
            }

            var r = await ContainersApi.UpdateAsync(new UpdateContainerRequest { Container = c, UpdateMask = mask }, o);
            return ToRecord(r.Container);
        }, ct);

    public Task DeleteContainerAsync(string id, CancellationToken ct = default) =>
        Unary(async o => await ContainersApi.DeleteAsync(new DeleteContainerRequest { Id = id }, o), ct);

    /// <summary>
    /// Creates the task. With no <paramref name="rootfs"/> mounts the spec's root.path folder is
    /// used as is; with them (a snapshot's mounts) the shim mounts them on the bundle's rootfs.
    /// </summary>
    public Task<uint> CreateTaskAsync(string id, string? stdout = null, string? stderr = null, CancellationToken ct = default, IReadOnlyList<RootfsMount>? rootfs = null) =>
        Unary(async o =>
        {
            var req = new CreateTaskRequest
            {
                ContainerId = id,
                Stdout = stdout ?? string.Empty,
                Stderr = stderr ?? string.Empty,
            };
            req.Rootfs.AddRange(FromMounts(rootfs ?? Array.Empty<RootfsMount>()));
            return (await TasksApi.CreateAsync(req, o)).Pid;
        }, ct, TimeSpan.FromSeconds(30));

    public Task<uint> StartTaskAsync(string id, CancellationToken ct = default) =>
        Unary(async o => (await TasksApi.StartAsync(new StartRequest { ContainerId = id }, o)).Pid, ct, TimeSpan.FromSeconds(30));

    /// <summary>The task's init process, or null when the container has no task.</summary>
    public async Task<TaskInfo?> GetTaskAsync(string id, CancellationToken ct = default)
    {
        try
        {
            return await Unary(async o => ToTask((await TasksApi.GetAsync(new GetRequest { ContainerId = id }, o)).Process), ct).ConfigureAwait(false);
        }
        catch (ContainerdException e) when (e.Kind == ContainerdErrorKind.NotFound)
        {
            return null;
        }
    }

    public Task<IReadOnlyList<TaskInfo>> ListTasksAsync(CancellationToken ct = default) =>
        Unary<IReadOnlyList<TaskInfo>>(async o => (await TasksApi.ListAsync(new ListTasksRequest(), o)).Tasks.Select(ToTask).ToList(), ct);

    /// <summary>Signals the init process (or every process with <paramref name="all"/>). NotFound: it already finished.</summary>
    public Task KillAsync(string id, int signal, bool all = false, CancellationToken ct = default, TimeSpan? deadline = null) =>
        Unary(async o => await TasksApi.KillAsync(new KillRequest { ContainerId = id, Signal = (uint)signal, All = all }, o), ct, deadline);

    /// <summary>Deletes a stopped task; the answer carries its exit status.</summary>
    public Task<ExitInfo> DeleteTaskAsync(string id, CancellationToken ct = default, TimeSpan? deadline = null) =>
        Unary(async o =>
        {
            var r = await TasksApi.DeleteAsync(new DeleteTaskRequest { ContainerId = id }, o);
            return new ExitInfo(r.ExitStatus, ToDate(r.ExitedAt), r.Pid);
        }, ct, deadline);

    public Task PauseAsync(string id, CancellationToken ct = default) =>
        Unary(async o => await TasksApi.PauseAsync(new PauseTaskRequest { ContainerId = id }, o), ct);

    public Task ResumeAsync(string id, CancellationToken ct = default) =>
        Unary(async o => await TasksApi.ResumeAsync(new ResumeTaskRequest { ContainerId = id }, o), ct);


    /// <summary>Blocks until the init process exits: an exit source that needs no event stream. No deadline; cancel to stop waiting.</summary>
    public Task<ExitInfo> WaitAsync(string id, CancellationToken ct) =>
        Unary(async o =>
        {
            var r = await TasksApi.WaitAsync(new WaitRequest { ContainerId = id }, o);
            return new ExitInfo(r.ExitStatus, ToDate(r.ExitedAt));
        }, ct, Timeout.InfiniteTimeSpan);

    /// <summary>
    /// Streams events matching <paramref name="filters"/> (OR'd; commas inside one AND). Ends
    /// with a <see cref="ContainerdException"/> when the stream breaks; no replay exists, so the
    /// caller resyncs after every subscribe.
    /// </summary>
    public async IAsyncEnumerable<ContainerdEvent> SubscribeAsync(IEnumerable<string> filters, [EnumeratorCancellation] CancellationToken ct = default)
    {
        var req = new SubscribeRequest();
        req.Filters.AddRange(filters);
        AsyncServerStreamingCall<Envelope> call;
        try
        {
            call = EventsApi.Subscribe(req, new CallOptions(_headers, cancellationToken: ct));
        }
        catch (RpcException e)
        {
            throw ContainerdErrors.FromRpc(e, Address, ct);
        }

        using (call)
        {
            while (true)
            {
                Envelope env;
                try
                {
                    if (!await call.ResponseStream.MoveNext(ct).ConfigureAwait(false))
                    {
                        throw new ContainerdException(ContainerdErrorKind.Unavailable, Address, $"containerd at '{Address}' closed the event stream.");
                    }

                    env = call.ResponseStream.Current;
                }
                catch (RpcException e)
                {
                    throw ContainerdErrors.FromRpc(e, Address, ct);
                }

                var ev = EventDecoder.Decode(env);
                if (ev is not null)
                {
                    yield return ev;
                }
            }
        }
    }

    /// <summary>
    /// Publishes a marker event on <paramref name="topic"/>. containerd's event stream sends no
    /// headers until its first event, so a subscriber learns that it is live only by seeing an
    /// event: this one, carrying <paramref name="token"/>.
    /// </summary>
    public Task PublishMarkerAsync(string topic, string token, CancellationToken ct = default) =>
        Unary(async o => await EventsApi.PublishAsync(new PublishRequest
        {
            Topic = topic,
            Event = new Any { TypeUrl = EventDecoder.MarkerTypeUrl, Value = ByteString.CopyFromUtf8(token) },
        }, o), ct, TimeSpan.FromSeconds(5));

    /// <summary>Publishes an arbitrary event; only tests use it, to replay what containerd may send twice.</summary>
    internal Task PublishAsync(string topic, string typeUrl, ByteString value, CancellationToken ct = default) =>
        Unary(async o => await EventsApi.PublishAsync(new PublishRequest
        {
            Topic = topic,
            Event = new Any { TypeUrl = typeUrl, Value = value },
        }, o), ct, TimeSpan.FromSeconds(5));

    internal static DateTime? ToDate(Timestamp? t) =>
        t is null || (t.Seconds <= 0 && t.Nanos == 0) ? null : t.ToDateTime();

    private static ContainerRecord ToRecord(Container c) => new(
        c.Id,
        new Dictionary<string, string>(c.Labels, StringComparer.Ordinal),
        c.Image,
        c.Runtime?.Name ?? string.Empty,
        c.Spec is null ? null : Encoding.UTF8.GetString(c.Spec.Value.Span),
        ToDate(c.CreatedAt) ?? DateTime.MinValue,
        ToDate(c.UpdatedAt) ?? DateTime.MinValue,
        c.Snapshotter,
        c.SnapshotKey);

    // containerd 1.6/1.7 fill only `id` (the init process's id, which is the container's) in
    // Tasks.List and Tasks.Get; `container_id` stays empty there.
    private static TaskInfo ToTask(Proto.Task.Process p) =>
        new(p.ContainerId is { Length: > 0 } c ? c : p.Id, p.Pid, (TaskStatus)(int)p.Status, p.ExitStatus, ToDate(p.ExitedAt));

    private async Task<T> Unary<T>(Func<CallOptions, Task<T>> call, CancellationToken ct, TimeSpan? deadline = null)
    {
        var span = deadline ?? DefaultDeadline;
        var options = new CallOptions(_headers, span == Timeout.InfiniteTimeSpan ? null : DateTime.UtcNow + span, ct);
        try
        {
            return await call(options).ConfigureAwait(false);
        }
        catch (RpcException e)
        {
            throw ContainerdErrors.FromRpc(e, Address, ct);
        }
    }

    private Task Unary(Func<CallOptions, Task> call, CancellationToken ct, TimeSpan? deadline = null) =>
        Unary<bool>(async o => { await call(o).ConfigureAwait(false); return true; }, ct, deadline);
}
