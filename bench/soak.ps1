#Requires -Version 7.4
<#
.SYNOPSIS
    Soak, run by hand (never in CI): `dotnet pwsh ./build.ps1 -Task Soak [-Cycles 500]`.
.DESCRIPTION
    -Cycles create/start/stop/remove cycles of a busybox container through the cmdlets in this one
    pwsh session, after -WarmUp cycles that load everything once. Prints the shims left for the
    soak's namespace, this process's open file descriptors, threads, managed heap and RSS before and
    after; exits 1 when any of them grew past its allowance (threads and the heap move a little
    with the thread pool and the GC; shims and descriptors must not move).
#>
param([int] $Cycles = 500, [int] $WarmUp = 20)
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
foreach ($name in 'CONTAINERD_ADDRESS', 'PSCD_TEST_ROOTFS', 'PSCD_MODULE_PATH') {
    if (-not [Environment]::GetEnvironmentVariable($name)) { throw "$name is not set: run with dotnet pwsh ./build.ps1 -Task Soak" }
}
Import-Module $env:PSCD_MODULE_PATH
. "$PSScriptRoot/Wait-Trap.ps1"
$env:CONTAINERD_NAMESPACE = 'bench-soak'
$command = '/bin/sh', '-c', "trap 'exit 0' TERM; sleep 1000 & wait"

function Get-ShimCount {
    @(Get-ChildItem /proc -Directory | Where-Object { $_.Name -match '^\d+$' } | ForEach-Object {
        try { [IO.File]::ReadAllText("$($_.FullName)/cmdline") } catch { '' }
    } | Where-Object { $_ -like '*containerd-shim*' -and $_ -like "*-namespace`0bench-soak`0*" -and $_ -like "*$env:CONTAINERD_ADDRESS*" }).Count
}

function Measure-Resources {
    [GC]::Collect(); [GC]::WaitForPendingFinalizers(); [GC]::Collect()
    $rss = (Get-Content "/proc/$PID/status" | Where-Object { $_ -like 'VmRSS:*' }) -replace '\D', ''
    [ordered]@{
        'shims (bench-soak namespace)' = Get-ShimCount
        'open file descriptors'        = @(Get-ChildItem "/proc/$PID/fd").Count
        'threads'                      = @(Get-ChildItem "/proc/$PID/task").Count
        'managed heap (MiB)'           = [math]::Round([GC]::GetTotalMemory($true) / 1MB, 1)
        'RSS (MiB)'                    = [math]::Round([double] $rss / 1024, 1)
    }
}

function Invoke-Cycle([string] $N) {
    $id = "soak-$N"
    $c = New-Container -Id $id -RootFs $env:PSCD_TEST_ROOTFS -Command $command -Start
    Wait-Trap $c.Pid
    $r = Stop-Container -Id $id -Timeout 10
    if ($r.ExitCode -ne 0) { throw "$id exited $($r.ExitCode): $($r.Steps -join '; ')" }
    Remove-Container -Id $id
}

Write-Host "==> soak: $WarmUp warm-up cycles"
for ($i = 0; $i -lt $WarmUp; $i++) { Invoke-Cycle -N "w$i" }
$before = Measure-Resources
Write-Host "==> soak: $Cycles create/start/stop/remove cycles"
$sw = [Diagnostics.Stopwatch]::StartNew()
for ($i = 0; $i -lt $Cycles; $i++) {
    Invoke-Cycle -N $i
    if (($i + 1) % 50 -eq 0) { Write-Host "    $($i + 1) of $Cycles ($([math]::Round($sw.Elapsed.TotalSeconds)) s)" }
}
# a shim leaves a moment after its task's delete: bounded wait for the count to settle
$settle = [datetime]::UtcNow.AddSeconds(10)
while ((Get-ShimCount) -gt $before['shims (bench-soak namespace)'] -and [datetime]::UtcNow -lt $settle) { Start-Sleep -Milliseconds 100 }
$after = Measure-Resources

# allowances: shims and descriptors none; threads and the heap what the pool and the GC move by themselves
$allowed = @{ 'shims (bench-soak namespace)' = 0; 'open file descriptors' = 0; 'threads' = 8; 'managed heap (MiB)' = 8; 'RSS (MiB)' = 64 }
$grew = @()
Write-Host ''
Write-Host ('{0,-30} {1,10} {2,10} {3,10} {4,10}' -f 'resource', 'before', 'after', 'growth', 'allowed')
foreach ($k in $before.Keys) {
    $growth = [math]::Round($after[$k] - $before[$k], 1)
    if ($growth -gt $allowed[$k]) { $grew += $k }
    Write-Host ('{0,-30} {1,10} {2,10} {3,10} {4,10}' -f $k, $before[$k], $after[$k], $growth, $allowed[$k])
}
Write-Host ("{0} cycles in {1:0} s ({2:0} ms a cycle)" -f $Cycles, $sw.Elapsed.TotalSeconds, ($sw.Elapsed.TotalMilliseconds / [math]::Max(1, $Cycles)))
if ($grew) {
    Write-Host "GROWTH: $($grew -join ', ')" -ForegroundColor Red
    exit 1
}
Write-Host 'no growth'
