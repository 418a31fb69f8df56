using Grpc.Core;
using PSContainerd.Containerd.Api.Namespaces;

namespace PSContainerd.Containerd;

/// <summary>The namespaces of one containerd (not scoped to a namespace, unlike <see cref="ContainerdClient"/>).</summary>
public static class ContainerdNamespaces
{
    /// <summary>The namespace names, sorted; the call is bounded by <paramref name="deadline"/>.</summary>
    public static async Task<IReadOnlyList<string>> ListAsync(string address, TimeSpan deadline, CancellationToken ct = default)
    {
        var client = new Namespaces.NamespacesClient(ContainerdChannel.For(address));
        var response = await client.ListAsync(new ListNamespacesRequest(), new CallOptions(deadline: DateTime.UtcNow + deadline, cancellationToken: ct)).ConfigureAwait(false);
        return response.Namespaces.Select(n => n.Name).OrderBy(n => n, StringComparer.Ordinal).ToList();
    }
}
