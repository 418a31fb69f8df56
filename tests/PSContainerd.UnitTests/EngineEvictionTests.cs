using PSContainerd.Engine;
using Xunit;

namespace PSContainerd.UnitTests;

/// <summary>
/// Engines made for sockets that are not there (a mistyped -Address) are dropped once the bound
/// passes with nobody using them, and leave no lock file, no descriptor and no retrying behind.
/// </summary>
[Collection(Alone.Name)]
public sealed class EngineEvictionTests
{
    private const int Engines = 20;

    [Fact]
    public async Task Engines_on_missing_sockets_are_dropped_after_the_bound_leaving_no_lock_file_or_descriptor()
    {
        var bound = TimeSpan.FromSeconds(1);
        ContainerEngine.EvictAfter = bound;
        string lockFolder = LockFolder.RootPath;
        var filesBefore = FilesIn(lockFolder);
        string prefix = $"/tmp/pscd-typo-{Guid.NewGuid():N}";
        // The first failed call sets up what the process keeps for every later one (the thread pool's, the HTTP stack's descriptors).
        await Assert.ThrowsAnyAsync<Exception>(() => ContainerEngine.For($"{prefix}-warm.sock", "default").WhenMonitoringAsync(new CancellationTokenSource(TimeSpan.FromSeconds(2)).Token));
        int fdsBefore = Descriptors().Count;
        var engines = new List<ContainerEngine>();
        for (int i = 0; i < Engines; i++)
        {
            var e = ContainerEngine.For($"{prefix}-{i}.sock", "default");
            engines.Add(e);
            // What a mistyped call does: it fails to reach containerd, and the engine's event stream keeps retrying.
            await Assert.ThrowsAnyAsync<Exception>(() => e.WhenMonitoringAsync(new CancellationTokenSource(TimeSpan.FromSeconds(2)).Token));
        }

        var deadline = DateTime.UtcNow + bound * 3 + TimeSpan.FromSeconds(10);
        while (engines.Any(e => ReferenceEquals(ContainerEngine.Registered(e.Address, e.Namespace), e)))
        {
            Assert.True(DateTime.UtcNow < deadline, $"{engines.Count(e => ReferenceEquals(ContainerEngine.Registered(e.Address, e.Namespace), e))} of {Engines} engines still registered");
            await Task.Delay(100);
        }

        // The folder is the host's: a file another process made meanwhile, and holds open, is its own.
        var left = FilesIn(lockFolder).Except(filesBefore).Where(f => !OpenInAnotherProcess(f)).ToList();
        Assert.True(left.Count == 0, $"{left.Count} lock files left: {string.Join(", ", left)}");
        await Task.Delay(500);
        var fds = Descriptors();
        Assert.True(fds.Count <= fdsBefore + 2, $"{fds.Count - fdsBefore} descriptors left: {string.Join(", ", fds)}");
    }

    /// <summary>
    /// The process's descriptors, but for the assemblies the runtime maps once and keeps (the
    /// HTTP stack loads some of its own, System.Net.Quic among them, on a later call, whenever
    /// the JIT gets to them): what an engine could leave is a socket, a lock file, a pipe.
    /// </summary>
    private static List<string> Descriptors() =>
        Directory.GetFiles("/proc/self/fd")
            .Select(fd => { try { return new FileInfo(fd).LinkTarget ?? fd; } catch (IOException) { return fd; } })
            .Where(target => !target.EndsWith(".dll", StringComparison.Ordinal))
            .ToList();

    private static HashSet<string> FilesIn(string folder) =>
        Directory.Exists(folder) ? Directory.GetFiles(folder).ToHashSet(StringComparer.Ordinal) : new HashSet<string>(StringComparer.Ordinal);

    /// <summary>Whether a process other than this one has <paramref name="path"/> open (a lock file an engine elsewhere holds).</summary>
    private static bool OpenInAnotherProcess(string path)
    {
        string self = Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture);
        foreach (var proc in Directory.EnumerateDirectories("/proc"))
        {
            string pid = Path.GetFileName(proc);
            if (pid == self || !pid.All(char.IsAsciiDigit))
            {
                continue;
            }

            try
            {
                if (Directory.EnumerateFileSystemEntries(Path.Combine(proc, "fd")).Any(fd => new FileInfo(fd).LinkTarget == path))
                {
                    return true;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // the process ended meanwhile, or its descriptors are not ours to read
            }
        }

        return false;
    }
}

/// <summary>Alone: the test counts the process's descriptors and the lock folder's files.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class Alone
{
    public const string Name = "alone";
}
