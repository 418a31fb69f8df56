using System.Diagnostics;

namespace PSContainerd.Commands;

/// <summary>
/// New-Container -RootFs given a tar file (docker export, an unpacked image layer, .tar.gz): it
/// is unpacked into a folder of its own that becomes the container's root filesystem, and
/// Remove-Container deletes that folder with the container (the label names it).
/// </summary>
internal static class RootFsArchive
{
    /// <summary>The label naming the folder the module unpacked; only such a folder is ever deleted.</summary>
    public const string Label = "pscontainerd/rootfs-unpacked";

    /// <summary>How long unpacking may take; a root filesystem of several GB on a slow disk fits.</summary>
    private static readonly TimeSpan Bound = TimeSpan.FromMinutes(10);

    public static bool IsArchive(string path) =>
        File.Exists(path) && (path.EndsWith(".tar", StringComparison.OrdinalIgnoreCase)
            || path.EndsWith(".tar.gz", StringComparison.OrdinalIgnoreCase)
            || path.EndsWith(".tgz", StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// Where the archive of container <paramref name="id"/> in <paramref name="namespace"/> is
    /// unpacked: under $env:PSCONTAINERD_ROOTFS_DIR, else /var/lib/pscontainerd/rootfs.
    /// </summary>
    public static string FolderFor(string @namespace, string id) =>
        Path.Combine(Environment.GetEnvironmentVariable("PSCONTAINERD_ROOTFS_DIR") is { Length: > 0 } d ? d : "/var/lib/pscontainerd/rootfs", @namespace, id);

    /// <summary>
    /// Unpacks with tar(1), keeping numeric owners, modes and device nodes as an image needs them
    /// (what .NET's tar reader does not restore). Throws IOException with tar's message on failure.
    /// </summary>
    public static async Task UnpackAsync(string archive, string folder, CancellationToken ct)
    {
        if (Directory.Exists(folder))
        {
            throw new IOException($"'{folder}' already exists; remove it or the container that used it first.");
        }

        Directory.CreateDirectory(folder);
        var psi = new ProcessStartInfo("tar") { RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "--extract", "--file", archive, "--directory", folder, "--numeric-owner", "--same-permissions", "--auto-compress" })
        {
            psi.ArgumentList.Add(a);
        }

        using var tar = Process.Start(psi) ?? throw new IOException("tar could not be started.");
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bounded.CancelAfter(Bound);
        try
        {
            string error = await tar.StandardError.ReadToEndAsync(bounded.Token).ConfigureAwait(false);
            await tar.WaitForExitAsync(bounded.Token).ConfigureAwait(false);
            if (tar.ExitCode != 0)
            {
                throw new IOException($"tar could not unpack '{archive}': {error.Trim()}");
            }
        }
        catch (Exception)
        {
            if (!tar.HasExited)
            {
                tar.Kill();
            }

            Delete(folder);
            throw;
        }
    }

    /// <summary>Deletes a folder the module unpacked; a failure is left for the caller to report.</summary>
    public static void Delete(string folder)
    {
        if (Directory.Exists(folder))
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>Unpacks <paramref name="archive"/> into <paramref name="folder"/>; a failure is written to <paramref name="sink"/>.</summary>
    public static async Task UnpackOrReportAsync(string archive, string folder, IOutputSink sink, CancellationToken ct)
    {
        try
        {
            await UnpackAsync(archive, folder, ct).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            sink.Error(ErrorRecords.InvalidRootFs(archive, e.Message));
        }
    }
}
