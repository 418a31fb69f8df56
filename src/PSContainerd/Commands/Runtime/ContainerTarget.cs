using PSContainerd.Engine;

namespace PSContainerd.Commands;

/// <summary>What one pipeline item asked for: the engine of its -Address/-Namespace and its -Id values (null: every container).</summary>
internal sealed record ContainerRequest(ContainerEngine Engine, IReadOnlyList<string>? Ids);

/// <summary>
/// One resolved container: the engine (socket and namespace) it lives in and its exact id.
/// <paramref name="Listed"/>: found by listing the namespace, not named by the caller.
/// </summary>
public sealed record ContainerTarget(ContainerEngine Engine, string Id, bool Listed = false)
{
    /// <summary>How -WhatIf and -Confirm name it: the id and namespace, and the socket when it is not the default one.</summary>
    public override string ToString() =>
        Engine.Address == ContainerdCmdlet.DefaultAddressFromEnvironment
            ? $"{Id} (namespace '{Engine.Namespace}')"
            : $"{Id} (namespace '{Engine.Namespace}', socket '{Engine.Address}')";
}
