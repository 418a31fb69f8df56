namespace PSContainerd.Engine;

/// <summary>
/// The container's process from an image config with New-Container's arguments on top, as docker
/// run does: -Command replaces the config's Cmd (its Entrypoint stays), -Environment entries
/// replace the config's by name, -WorkingDirectory and -StopSignal win over the config's.
/// </summary>
public static class ImageProcess
{
    /// <summary>The request to build the spec from; an empty <see cref="NewContainerRequest.Command"/> keeps the config's Cmd.</summary>
    public static NewContainerRequest Apply(NewContainerRequest r, ResolvedImage image)
    {
        var c = image.Config;
        var args = c.Entrypoint.Concat(r.Command.Count > 0 ? r.Command : c.Cmd).ToList();
        if (args.Count == 0)
        {
            throw new ImageException(ImageFailure.Unusable, image.Name, $"Image '{image.Name}' has no Entrypoint or Cmd: give the command with -Command.");
        }

        if (!c.TryGetUser(out uint uid, out uint gid))
        {
            throw new ImageException(ImageFailure.Unusable, image.Name,
                $"Image '{image.Name}' runs as user '{c.User}', a name the module would have to look up in the image's /etc/passwd, which it does not read; only numeric ids ('UID' or 'UID:GID') and root are supported.");
        }

        int? stopSignal = r.StopSignal;
        if (stopSignal is null && c.StopSignal.Length > 0)
        {
            if (!Signals.TryParse(c.StopSignal, out int sig))
            {
                throw new ImageException(ImageFailure.Unusable, image.Name, $"Image '{image.Name}' has stop signal '{c.StopSignal}', which is not a signal; give one with -StopSignal.");
            }

            stopSignal = sig;
        }

        // docker's order: the config's labels, then the caller's; the stop signal as containerd's
        // client and nerdctl record it, so `ctr`/nerdctl stop this container the same way.
        var labels = new Dictionary<string, string>(c.Labels, StringComparer.Ordinal);
        foreach (var (k, v) in r.Labels)
        {
            labels[k] = v;
        }

        if (stopSignal is int s)
        {
            labels[StateLabels.ImageStopSignal] = Signals.Name(s);
        }

        return r with
        {
            Command = args,
            Environment = MergeEnvironment(c.Env, r.Environment),
            WorkingDirectory = r.WorkingDirectory ?? (c.WorkingDir.Length > 0 ? c.WorkingDir : null),
            StopSignal = stopSignal,
            Labels = labels,
            User = new ProcessUser(uid, gid),
            // containerd's client convention: the snapshot's mounts go on the bundle's "rootfs".
            RootFs = "rootfs",
        };
    }

    /// <summary>The image's NAME=value entries with the caller's replacing those of the same NAME, in the image's order, new ones after.</summary>
    public static IReadOnlyList<string> MergeEnvironment(IReadOnlyList<string> image, IReadOnlyList<string> given)
    {
        static string Name(string e) => e.Split('=', 2)[0];
        var overrides = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var e in given)
        {
            overrides[Name(e)] = e; // the last of a name wins, as docker's
        }

        var merged = image.Select(e => overrides.Remove(Name(e), out var o) ? o : e).ToList();
        merged.AddRange(given.Where(e => overrides.TryGetValue(Name(e), out var o) && ReferenceEquals(o, e)));
        return merged;
    }
}
