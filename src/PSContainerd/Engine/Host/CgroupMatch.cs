namespace PSContainerd.Engine;

/// <summary>
/// Whether a process is in a container's cgroup, from /proc/PID/cgroup, by whole path segments.
/// Any id: the path ends <c>/NAMESPACE/ID</c> (this module's cgroupsPath under cgroupfs, as
/// nerdctl's). A long hex id (docker, CRI, nerdctl ids: 64 hex digits) also as <c>…/ID</c>
/// (docker's <c>/docker/ID</c>) or a systemd scope <c>…/ID.scope</c> / <c>…/PREFIX-ID.scope</c>
/// (<c>cri-containerd-ID.scope</c>, <c>docker-ID.scope</c>): such an id names nothing else on a
/// host, unlike a name. A substring match let a container named <c>cpu</c>, <c>user</c> or
/// <c>e</c> "own" every host process.
/// </summary>
public static class CgroupMatch
{
    /// <summary>Hex digits from which an id is taken to be unique on the host (docker's short ids are 12; full ones 64).</summary>
    public const int UniqueHexLength = 32;

    /// <summary>Whether any line of <paramref name="procCgroup"/> (cgroup v1 "N:controllers:/path" or v2 "0::/path") places the process in container <paramref name="containerId"/> of <paramref name="namespace"/>.</summary>
    public static bool Names(string procCgroup, string @namespace, string containerId)
    {
        if (containerId.Length == 0)
        {
            return false;
        }

        bool unique = containerId.Length >= UniqueHexLength && containerId.All(Uri.IsHexDigit);
        foreach (var raw in procCgroup.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            // hierarchy-ID:controller-list:path — the path may itself hold ':'.
            int first = raw.IndexOf(':');
            int second = first < 0 ? -1 : raw.IndexOf(':', first + 1);
            if (second < 0)
            {
                continue;
            }

            var segments = raw[(second + 1)..].TrimEnd().Split('/', StringSplitOptions.RemoveEmptyEntries);
            if (segments.Length == 0)
            {
                continue;
            }

            string last = segments[^1];
            if (last == containerId && segments.Length >= 2 && segments[^2] == @namespace)
            {
                return true;
            }

            if (unique && (last == containerId || last == containerId + ".scope" || last.EndsWith("-" + containerId + ".scope", StringComparison.Ordinal)))
            {
                return true;
            }
        }

        return false;
    }
}
