#Requires -Version 7.4
<#
.SYNOPSIS
    PSContainerd in two minutes: real busybox containers in a private containerd, a graceful stop,
    a stop that has to escalate to SIGKILL, and the typed results with their timelines.
.DESCRIPTION
    Run through `dotnet pwsh ./build.ps1 -Task Demo`, which starts the private containerd and sets
    CONTAINERD_ADDRESS and PSCD_TEST_ROOTFS (a busybox root filesystem folder).
#>
$ErrorActionPreference = 'Stop'
if (-not $env:CONTAINERD_ADDRESS -or -not $env:PSCD_TEST_ROOTFS) {
    throw 'Run the demo with: dotnet pwsh ./build.ps1 -Task Demo'
}
$module = if ($env:PSCD_MODULE_PATH) { $env:PSCD_MODULE_PATH } else { "$PSScriptRoot/../out/PSContainerd/PSContainerd.psd1" }
Import-Module $module
$env:CONTAINERD_NAMESPACE = 'demo'
$rootfs = $env:PSCD_TEST_ROOTFS
$log = Join-Path ([IO.Path]::GetTempPath()) "pscd-demo-$PID.log"

function Show([string] $Title) { Write-Host "`n=== $Title" -ForegroundColor Cyan }

Show "containerd at $env:CONTAINERD_ADDRESS, namespace 'demo'"

# A web-server-like process that exits cleanly on SIGTERM, and a stubborn one: `sleep` as PID 1
# has no handler, so the kernel drops SIGTERM and only SIGKILL ends it.
New-Container -Id web -RootFs $rootfs -LogPath $log -RestartPolicy 'on-failure:3' `
    -Command '/bin/sh', '-c', "trap 'echo web: got SIGHUP, reloading' HUP; trap 'echo web: SIGTERM, bye; exit 0' TERM; echo web: up; while true; do sleep 0.1; done" -Start | Out-Null
New-Container -Id stubborn -RootFs $rootfs -StopTimeout 2 -Command '/bin/sleep', '1000' -Start | Out-Null

Show 'Get-Container'
Get-Container | Format-Table -AutoSize | Out-Host

Show 'Send-ContainerSignal -Id web -Signal HUP   (one signal, no escalation)'
Send-ContainerSignal -Id web -Signal HUP
$deadline = [datetime]::UtcNow.AddSeconds(5)
while (-not ((Get-Content $log -Raw -ErrorAction SilentlyContinue) -match 'reloading') -and [datetime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 50 }
Get-Content $log | Out-Host

Show "Get-Container | Stop-Container   (web: its own TERM handler; stubborn: its 2 s stop timeout, then SIGKILL)"
$results = Get-Container | Stop-Container
$results | Format-Table -AutoSize | Out-Host

foreach ($r in $results) {
    Show "Steps of $($r.Id): Outcome $($r.Outcome), Escalation $($r.Escalation), ExitCode $($r.ExitCode), $([int]$r.Duration.TotalMilliseconds) ms"
    $r.Steps | Format-Table -AutoSize | Out-Host
}

Show 'Wait-Container on stopped containers returns their recorded exits at once'
Wait-Container -Id web, stubborn | Format-Table -AutoSize | Out-Host

Show 'What containerd itself keeps (labels on the container record)'
(Get-Container -Id stubborn).Labels.GetEnumerator() | Where-Object Key -like 'pscontainerd/*' | Sort-Object Key | Format-Table -AutoSize | Out-Host

Show 'Remove-Container'
Get-Container | Remove-Container
"containers left in 'demo': $(@(Get-Container).Count)" | Out-Host
Remove-Item $log -ErrorAction SilentlyContinue
