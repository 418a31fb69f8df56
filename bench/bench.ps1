#Requires -Version 7.4
<#
.SYNOPSIS
    Latency figures and ratios, printed, never asserted: run by hand with
    `dotnet pwsh ./build.ps1 -Task Bench` (which starts a private containerd).
.DESCRIPTION
    1. The floor: the client alone doing Kill -> exit event -> task delete.
    2. The engine's StopAsync on a cooperative container, warm.
    3. Stop-Container on a cooperative container in a warm PowerShell session.
    4. Escalation overrun: how far past -Timeout 1 SIGKILL goes out, PID 1 ignoring SIGTERM.
    4b. Scale: -Scale containers (default 100) stopped at once through one engine.
    5. Cold start: pwsh + Import-Module + first Get-Container, against a bare pwsh start.
#>
param([int] $Iterations = 20, [int] $Scale = 100)
$ErrorActionPreference = 'Stop'
if (-not $env:CONTAINERD_ADDRESS -or -not $env:PSCD_TEST_ROOTFS) { throw 'Run with: dotnet pwsh ./build.ps1 -Task Bench' }
$module = if ($env:PSCD_MODULE_PATH) { $env:PSCD_MODULE_PATH } else { "$PSScriptRoot/../out/PSContainerd/PSContainerd.psd1" }

function Median([double[]] $xs) { ($xs | Sort-Object)[[int][math]::Floor($xs.Count / 2)] }

Write-Host '==> floor and engine (bench/PSContainerd.Bench)'
$json = & dotnet run --project "$PSScriptRoot/PSContainerd.Bench" -c Release -- $Iterations $Scale
if ($LASTEXITCODE -ne 0) { throw "PSContainerd.Bench failed ($LASTEXITCODE)" }
$figures = $json | Select-Object -Last 1 | ConvertFrom-Json

Write-Host '==> Stop-Container in a warm session'
Import-Module $module
$env:CONTAINERD_NAMESPACE = 'bench-cmdlet'
$times = [System.Collections.Generic.List[double]]::new()
for ($i = 0; $i -lt $Iterations + 2; $i++) {
    $id = "cmd-$([guid]::NewGuid().ToString('N').Substring(0, 8))"
    $c = New-Container -Id $id -RootFs $env:PSCD_TEST_ROOTFS -Command '/bin/sh', '-c', "trap 'exit 0' TERM; sleep 1000 & wait" -Start
    # Stop only once the shell's TERM trap is in (its bit in SigCgt), or the kernel drops SIGTERM to PID 1.
    $deadline = [datetime]::UtcNow.AddSeconds(10)
    while ((([Convert]::ToUInt64(((Get-Content "/proc/$($c.Pid)/status" | Where-Object { $_ -like 'SigCgt:*' }) -replace 'SigCgt:\s*', ''), 16)) -band 0x4000) -eq 0) {
        if ([datetime]::UtcNow -gt $deadline) { throw "$id never installed its TERM trap" }
        Start-Sleep -Milliseconds 5
    }
    $sw = [Diagnostics.Stopwatch]::StartNew()
    $r = Stop-Container -Id $id -Timeout 10
    $sw.Stop()
    if ($r.ExitCode -ne 0) { throw "cooperative stop exited $($r.ExitCode)" }
    if ($i -ge 2) { $times.Add($sw.Elapsed.TotalMilliseconds) }
    Remove-Container -Id $id
}
$cmdlet = Median $times

Write-Host '==> cold start'
$bare = 1..5 | ForEach-Object { (Measure-Command { & dotnet pwsh -NoProfile -c 'exit 0' }).TotalMilliseconds }
$cold = 1..5 | ForEach-Object { (Measure-Command { & dotnet pwsh -NoProfile -c "Import-Module '$module'; Get-Container -Namespace bench-cold | Out-Null" }).TotalMilliseconds }

$rows = @(
    [pscustomobject]@{ Figure = 'floor: Kill -> exit event -> delete (median)'; Value = '{0:0.0} ms' -f $figures.floor_median_ms }
    [pscustomobject]@{ Figure = 'engine StopAsync, cooperative (median)'; Value = '{0:0.0} ms  ({1:0.00}x floor)' -f $figures.engine_stop_median_ms, $figures.engine_over_floor }
    [pscustomobject]@{ Figure = 'Stop-Container, warm session (median)'; Value = '{0:0.0} ms  ({1:0.00}x floor)' -f $cmdlet, ($cmdlet / $figures.floor_median_ms) }
    [pscustomobject]@{ Figure = "$($figures.scale_containers) containers stopped at once (total; per stop median / max)"; Value = '{0:0} ms ({1:0.00}x floor {2:0} ms); {3:0} / {4:0} ms' -f $figures.scale_total_ms, ($figures.scale_total_ms / $figures.scale_floor_total_ms), $figures.scale_floor_total_ms, $figures.scale_stop_median_ms, $figures.scale_stop_max_ms }
    [pscustomobject]@{ Figure = 'escalation overrun past -Timeout 1 (median / max)'; Value = '{0:0.0} / {1:0.0} ms (timer alone {2:0.0} ms)' -f $figures.escalation_overrun_median_ms, $figures.escalation_overrun_max_ms, $figures.escalation_timer_slack_median_ms }
    [pscustomobject]@{ Figure = 'cold: pwsh + import + Get-Container (median)'; Value = '{0:0} ms  (+{1:0} ms over bare pwsh {2:0} ms)' -f (Median $cold), ((Median $cold) - (Median $bare)), (Median $bare) }
)
Write-Host ''
foreach ($row in $rows) { Write-Host ('{0,-62} {1}' -f $row.Figure, $row.Value) }
