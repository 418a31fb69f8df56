# The module's root: loads PSContainerd.dll in the module's own AssemblyLoadContext (through
# PSContainerd.Loader.dll, the one assembly in PowerShell's default context) and exports its
# cmdlets. gRPC, Protobuf and the logging abstractions then resolve to the module's copies even
# when another module loaded other versions of them first.
#
# Kept to a few statements: every line here is paid by each cold `pwsh -c 'Import-Module ...'`.
# Assembly.LoadFrom rather than Add-Type (Add-Type costs ~150 ms of start-up the first time),
# called every time (a second LoadFrom of the same path returns the assembly loaded first) rather
# than after a type lookup; Import-Module called module-qualified rather than found through
# Get-Command; whether Pester is loaded asked of the loader first, and of PowerShell only when it
# may be (Get-Module costs ~10 ms at a cold start).

$null = [System.Reflection.Assembly]::LoadFrom([System.IO.Path]::Combine($PSScriptRoot, 'PSContainerd.Loader.dll'))
$reimport = [PSContainerd.Loader.ModuleLoadContext]::IsLoaded
$inner = Microsoft.PowerShell.Core\Import-Module -Assembly ([PSContainerd.Loader.ModuleLoadContext]::Initialize()) -PassThru:$reimport

if ($inner) {
    # Import-Module -Force of an assembly already imported returns the cached module without
    # adding its cmdlets to this (new) module's scope (PowerShell issue 20710); add them here so
    # a re-import exports them again.
    $addExportedCmdlet = [System.Management.Automation.PSModuleInfo].GetMethod(
        'AddExportedCmdlet', [System.Reflection.BindingFlags]'Instance, NonPublic')
    foreach ($cmdlet in $inner.ExportedCmdlets.Values) {
        $addExportedCmdlet.Invoke($ExecutionContext.SessionState.Module, @(, $cmdlet))
    }
}

# Pester helpers (New-TestContainer, Should -StopGracefully, ...) only where Pester is loaded already,
# as inside Invoke-Pester: nothing to pay for them anywhere else.
if ([PSContainerd.Loader.ModuleLoadContext]::PesterLoaded -and (Microsoft.PowerShell.Core\Get-Module -Name Pester)) {
    . ([System.IO.Path]::Combine($PSScriptRoot, 'PSContainerd.Testing.ps1'))
}
