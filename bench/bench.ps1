#Requires -Version 7.4
<#
.SYNOPSIS
    The benchmark, run by hand (never in CI): `dotnet pwsh ./build.ps1 -Task Bench`, which starts
    a private containerd, builds the module and runs this script against it.
.DESCRIPTION
    Interleaved on one private containerd: containerd's floor (the client alone), the module (its
    engine in-process, a warm pwsh session, a cold pwsh -c), dockerd 20.10 (started here against
    the same containerd), podman 4.3 and ctr. Figures: cooperative stop, escalation overrun past
    -Timeout 1, many containers stopped at once, cold start, an exit burst through one engine, and
    a call-by-call trace of a stop. Prints a table, saves the raw figures to
    out/bench-results.json, and regenerates docs/performance.md and docs/performance.png unless
    -NoDoc. A default run takes about ten minutes on a quiet two-core machine.
.PARAMETER Render
    Measure nothing: draw the table, the page and the chart again from out/bench-results.json
    (`dotnet pwsh bench/bench.ps1 -Render`; needs no containerd).
.PARAMETER Skip
    Systems or parts to leave out: docker, podman, ctr, burst.
#>
param(
    [int] $Iterations = 15,
    [int] $Overrun = 5,
    [int] $Bulk = 100,
    [int] $BulkRounds = 1,
    [int] $Cold = 5,
    [int] $Burst = 1000,
    [int] $Trace = 10,
    [string[]] $Skip = @(),
    [switch] $NoDoc,
    [switch] $Render
)
$ErrorActionPreference = 'Stop'
if (-not $Render) {
    foreach ($name in 'CONTAINERD_ADDRESS', 'PSCD_TEST_ROOTFS', 'PSCD_TEST_DIR', 'PSCD_MODULE_PATH') {
        if (-not [Environment]::GetEnvironmentVariable($name)) { throw "$name is not set: run with dotnet pwsh ./build.ps1 -Task Bench" }
    }
}
$repo = (Resolve-Path "$PSScriptRoot/..").Path
$results = Join-Path $repo 'out/bench-results.json'
$env:PSCD_REPO = $repo
$doc = if ($NoDoc) { '' } else { Join-Path $repo 'docs/performance.md' }
$project = Join-Path $PSScriptRoot 'PSContainerd.Bench'

Write-Host '==> building bench/PSContainerd.Bench'
& dotnet build $project -c Release --nologo -v quiet --disable-build-servers -p:UseSharedCompilation=false | Out-Host
if ($LASTEXITCODE -ne 0) { throw "bench/PSContainerd.Bench did not build ($LASTEXITCODE)" }

& dotnet run --project $project -c Release --no-build -- `
    --iterations $Iterations --overrun $Overrun --bulk $Bulk --bulkrounds $BulkRounds --cold $Cold `
    --burst $Burst --trace $Trace --skip ($Skip -join ',') --doc $doc --results $results --render $(if ($Render) { 'true' } else { 'false' })
if ($LASTEXITCODE -ne 0) { throw "the bench failed ($LASTEXITCODE)" }
