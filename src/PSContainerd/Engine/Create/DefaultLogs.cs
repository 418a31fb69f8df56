namespace PSContainerd.Engine;

/// <summary>
/// Where a container's stdout and stderr go when New-Container is given neither -LogPath nor
/// -NoLog: /var/log/pscontainerd/NAMESPACE/ID.log for containerd's default socket, and
/// /var/log/pscontainerd/NAMESPACE@SOCKET/ID.log for another one (SOCKET: its path with '/' as
/// '_'), so two containerds on one host never share a file. The folders are made 0750 by the
/// session that creates the container (root, as containerd's socket wants): containerd's shim,
/// running as root, opens the file, and a folder another user could write would let that user
/// swap the file for a link to anything root may write. Logs can hold secrets: others may not read.
/// </summary>
public static class DefaultLogs
{
    public const string Root = "/var/log/pscontainerd";

    private const string DefaultSocket = "/run/containerd/containerd.sock";

    private const UnixFileMode FolderMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupExecute;

    /// <summary>The default log file of container <paramref name="id"/>.</summary>
    public static string PathFor(string address, string @namespace, string id)
    {
        string folder = address == DefaultSocket ? @namespace : $"{@namespace}@{address.Trim('/').Replace('/', '_')}";
        return Path.Combine(Root, folder, id + ".log");
    }

    /// <summary>
    /// Makes the folders of <paramref name="logPath"/> (0750) and checks that none of them is a
    /// link or writable by group or others; null when the file may go there, else why not.
    /// </summary>
    public static string? Prepare(string logPath)
    {
        string folder = Path.GetDirectoryName(logPath)!;
        try
        {
            // The module runs on Linux only (containerd's unix socket, pidfds); the mode is Unix's.
            if (!OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(Root, FolderMode);
                Directory.CreateDirectory(folder, FolderMode);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"cannot make '{folder}' ({e.Message.TrimEnd('.')})";
        }

        foreach (var f in new[] { Root, folder })
        {
            var info = new DirectoryInfo(f);
            if (info.LinkTarget is not null)
            {
                return $"'{f}' is a link";
            }

            if ((info.UnixFileMode & (UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0)
            {
                return $"'{f}' is writable by group or others";
            }
        }

        return null;
    }

    /// <summary>Deletes the default log file of a container that is gone; a log given with -LogPath elsewhere is the user's and stays.</summary>
    public static void Delete(string address, string @namespace, string id)
    {
        try
        {
            File.Delete(PathFor(address, @namespace, id));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort: the container is gone either way; a leftover file is overwritten by
            // the next container of that id (New-Container deletes it after its create).
        }
    }
}
