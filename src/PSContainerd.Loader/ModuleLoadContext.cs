using System.Reflection;
using System.Runtime.Loader;

namespace PSContainerd.Loader;

/// <summary>
/// The module's own load context. PSContainerd.dll and every dependency found next to it load
/// here; what is not there (the framework, System.Management.Automation) comes from the default
/// context, so PowerShell and the module share one PowerShell. A Google.Protobuf or
/// Grpc.Net.Client of another version, loaded earlier by another module, is never used.
/// </summary>
public sealed class ModuleLoadContext : AssemblyLoadContext
{
    private const string ModuleAssembly = "PSContainerd";

    private static readonly object Sync = new();
    private static ModuleLoadContext? _instance;

    private readonly string _directory;
    private readonly Assembly _loader = typeof(ModuleLoadContext).Assembly;

    private ModuleLoadContext(string directory)
        : base(ModuleAssembly, isCollectible: false)
    {
        _directory = directory;
        Module = LoadFromAssemblyPath(Path.Combine(directory, ModuleAssembly + ".dll"));
    }

    /// <summary>PSContainerd.dll as loaded in this context: what the module's script imports.</summary>
    public Assembly Module { get; }

    /// <summary>
    /// Whether the module assembly is loaded already: an Import-Module -Force, or an import in a
    /// second runspace, which PowerShell answers with the module it imported first (the module's
    /// script then exports its cmdlets itself).
    /// </summary>
    public static bool IsLoaded
    {
        get
        {
            lock (Sync)
            {
                return _instance is not null;
            }
        }
    }

    /// <summary>
    /// Whether a Pester assembly is loaded (Pester 5 and 6 load Pester.dll at import): the module's
    /// script asks PowerShell whether Pester is imported, a far dearer question at a cold start,
    /// only when this says it may be.
    /// </summary>
    public static bool PesterLoaded =>
        AppDomain.CurrentDomain.GetAssemblies().Any(a => string.Equals(a.GetName().Name, "Pester", StringComparison.Ordinal));

    /// <summary>
    /// The module assembly, loaded in the module's context on first call. Later calls (Import-Module
    /// -Force, a second runspace) get the same assembly: a context that is not collectible cannot be
    /// unloaded, and a second copy of the engine would split its state. The first call also starts
    /// the module's background warm-up (<c>PSContainerd.Commands.ModuleWarmUp.Start</c>) before
    /// PowerShell scans the assembly for cmdlets, so the connection is made while the import goes on.
    /// </summary>
    public static Assembly Initialize()
    {
        lock (Sync)
        {
            if (_instance is null)
            {
                _instance = new ModuleLoadContext(BuildFor(Path.GetDirectoryName(typeof(ModuleLoadContext).Assembly.Location)!, Environment.Version.Major));
                StartWarmUp(_instance.Module);
            }

            return _instance.Module;
        }
    }

    /// <summary>Never fails the import: a warm-up that cannot start leaves the work to the first call.</summary>
    private static void StartWarmUp(Assembly module)
    {
        try
        {
            module.GetType("PSContainerd.Commands.ModuleWarmUp")?.GetMethod("Start", BindingFlags.Public | BindingFlags.Static)?.Invoke(null, null);
        }
        catch (Exception)
        {
            // the first call reports what is wrong
        }
    }

    /// <summary>
    /// The folder of the build made for .NET <paramref name="major"/> (net10.0/ under the module),
    /// else the module's own folder (the net8.0 build). Both hold the same code; what differs is the
    /// ReadyToRun code, which a runtime uses only when its own major version made it: anything
    /// else is compiled again method by method, a few hundred milliseconds at every cold start.
    /// </summary>
    internal static string BuildFor(string moduleDirectory, int major)
    {
        string own = Path.Combine(moduleDirectory, $"net{major}.0");
        return File.Exists(Path.Combine(own, ModuleAssembly + ".dll")) ? own : moduleDirectory;
    }

    protected override Assembly? Load(AssemblyName assemblyName)
    {
        // The loader itself stays the default context's copy: one type identity on both sides.
        if (AssemblyName.ReferenceMatchesDefinition(_loader.GetName(), assemblyName))
        {
            return _loader;
        }

        string path = Path.Combine(_directory, assemblyName.Name + ".dll");
        return File.Exists(path) ? LoadFromAssemblyPath(path) : null;
    }
}
