#
# Module manifest for PSContainerd.
# build.ps1 -Task Build stages it next to PSContainerd.dll and PSContainerd.Format.ps1xml in
# out/PSContainerd/; import that folder, not the repository root.
#
@{
    RootModule           = 'PSContainerd.dll'
    ModuleVersion        = '0.1.0'
    GUID                 = '6f791c73-a43c-4724-af04-3730bae470be'
    Author               = 'PSContainerd contributors'
    CompanyName          = 'PSContainerd'
    Copyright            = '(c) PSContainerd contributors.'
    Description          = 'Stop, wait for and manage containerd containers from PowerShell: the dockerd stop flow (signal, grace period, SIGKILL, direct kill) with bounded waits, typed results and exit tracking, over containerd''s gRPC socket.'
    PowerShellVersion    = '7.4'
    CompatiblePSEditions = @('Core')
    FormatsToProcess     = @('PSContainerd.Format.ps1xml')
    CmdletsToExport      = @(
        'Get-Container'
        'New-Container'
        'Start-Container'
        'Stop-Container'
        'Wait-Container'
        'Send-ContainerSignal'
        'Suspend-Container'
        'Resume-Container'
        'Remove-Container'
        'Restore-ContainerState'
        'Get-ContainerEvent'
        'Get-ContainerSupervisor'
        'Start-ContainerSupervisor'
    )
    FunctionsToExport    = @()
    AliasesToExport      = @()
    VariablesToExport    = @()
    PrivateData          = @{
        PSData = @{
            Tags       = @('containerd', 'containers', 'runc', 'PSEdition_Core', 'Linux')
        }
    }
}
