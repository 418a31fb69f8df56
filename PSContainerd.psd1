#
# Module manifest for PSContainerd.
# build.ps1 -Task Build stages it with the files it names (PSContainerd.psm1, the format file, all
# at the repository root) and the compiled assemblies in out/PSContainerd/; import that folder,
# not the repository root. build.ps1 -Task Package makes the gallery package from it.
#
@{
    RootModule           = 'PSContainerd.psm1'
    ModuleVersion        = '0.1.0'
    GUID                 = '6f791c73-a43c-4724-af04-3730bae470be'
    Author               = 'PSContainerd contributors'
    CompanyName          = 'PSContainerd'
    Copyright            = '(c) PSContainerd contributors.'
    Description          = 'Stop, wait for and manage containerd containers from PowerShell: the dockerd stop flow (signal, grace period, SIGKILL, direct kill) with bounded waits, typed results and exit tracking, over containerd''s gRPC socket.'
    PowerShellVersion    = '7.4'
    CompatiblePSEditions = @('Core')
    FormatsToProcess     = @('PSContainerd.Format.ps1xml')
    TypesToProcess       = @('PSContainerd.Types.ps1xml')
    CmdletsToExport      = @(
        'Get-Container'
        'New-Container'
        'Start-Container'
        'Stop-Container'
        'Wait-Container'
        'Send-ContainerSignal'
        'Invoke-ContainerCommand'
        'Suspend-Container'
        'Resume-Container'
        'Remove-Container'
        'Restore-ContainerState'
        'Get-ContainerEvent'
        'Get-ContainerSupervisor'
        'Start-ContainerSupervisor'
        'Restart-Container'
        'Set-Container'
        'Get-ContainerLog'
    )
    # defined only when Pester is loaded before the module (PSContainerd.Testing.ps1, docs/testing.md)
    FunctionsToExport    = @('New-TestContainer', 'Remove-TestContainer')
    FileList             = @('PSContainerd.Testing.ps1')
    AliasesToExport      = @()
    VariablesToExport    = @()
    HelpInfoURI          = 'https://github.com/PSContainerd/PSContainerd/tree/main/docs'
    PrivateData          = @{
        PSData = @{
            Tags         = @('containerd', 'containers', 'runc', 'docker', 'PSEdition_Core', 'Linux')
            ProjectUri   = 'https://github.com/PSContainerd/PSContainerd'
            LicenseUri   = 'https://github.com/PSContainerd/PSContainerd/blob/main/LICENSE'
            ReleaseNotes = @'
-Id takes exact ids, PowerShell wildcards and prefixes of generated 64-hex ids only (names are
never prefix-matched); every id of a call is resolved before any container is touched.
Every result carries Address; piped results bind -Address and -Namespace.
Dependencies (gRPC, Protobuf) load in the module's own AssemblyLoadContext.
New: Restart-Container, Set-Container, Get-ContainerLog; tab completion for -Id, -Signal,
-StopSignal, -Namespace; New-Container -RootFs accepts a tar file.
'@
        }
    }
}
