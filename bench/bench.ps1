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
    a call-by-call trace of a stop. Cold starts run PowerShell's own executable (the one this
    script runs in), each row with a startup-profile cache of its own, and measure each cold-start
    lever by a row that undoes it. Prints a table, saves the raw figures to
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

# PowerShell itself for the cold rows, the one this script runs in: its own executable in $PSHOME
# (under `dotnet pwsh`, the one the tool runs), else its pwsh.dll, run with dotnet.
$pwsh = Join-Path $PSHOME 'pwsh'
if (-not (Test-Path -LiteralPath $pwsh -PathType Leaf)) { $pwsh = Join-Path $PSHOME 'pwsh.dll' }

# The cross-module inlining lever's row: the module staged again with a net10.0 build made
# without crossgen's --opt-cross-module (its own artifacts folder: the shipped build is untouched).
$noCrossModule = ''
if (-not $Render -and $Cold -gt 0) {
    Write-Host '==> building the module without cross-module inlining (a cold-start lever row)'
    $levers = Join-Path $repo 'out/bench-levers'
    $staged = Join-Path $levers 'no-cross-module/PSContainerd'
    if (Test-Path -LiteralPath $levers) { Remove-Item -LiteralPath $levers -Recurse -Force }
    $moduleDir = Split-Path -Parent $env:PSCD_MODULE_PATH
    & dotnet publish (Join-Path $repo 'src/PSContainerd') -c Release -f net10.0 -o (Join-Path $levers 'publish') --nologo -v quiet `
        --disable-build-servers -p:UseSharedCompilation=false -p:PublishReadyToRunCrossgen2ExtraArgs= `
        --artifacts-path (Join-Path $levers 'artifacts') | Out-Host
    if ($LASTEXITCODE -ne 0) { throw "the module without cross-module inlining did not build ($LASTEXITCODE)" }
    $null = New-Item -ItemType Directory -Path (Split-Path -Parent $staged) -Force
    Copy-Item -LiteralPath $moduleDir -Destination $staged -Recurse
    Get-ChildItem -LiteralPath (Join-Path $levers 'publish') -Filter '*.dll' | Copy-Item -Destination (Join-Path $staged 'net10.0') -Force
    $noCrossModule = Join-Path $staged (Split-Path -Leaf $env:PSCD_MODULE_PATH)
}

# PowerShell as its release packages ship it: the same pwsh with its assemblies precompiled
# (ReadyToRun) by crossgen2, the compiler the module's own build restores from NuGet. The dotnet
# tool's PowerShell is IL only: its every first call is JIT-compiled, PowerShell's own code
# included, so its cold figures are higher than a packaged pwsh's. Both are measured.
$precompiled = ''
if (-not $Render -and $Cold -gt 0) {
    $runtime = [Environment]::Version.ToString()
    $crossgen = Join-Path ([Environment]::GetFolderPath('UserProfile')) ".nuget/packages/microsoft.netcore.app.crossgen2.linux-x64/$runtime/tools/crossgen2"
    if ($env:NUGET_PACKAGES) { $crossgen = Join-Path $env:NUGET_PACKAGES "microsoft.netcore.app.crossgen2.linux-x64/$runtime/tools/crossgen2" }
    $copy = Join-Path $repo "out/bench-pwsh-r2r/$($PSVersionTable.PSVersion)-$runtime"
    if (-not (Test-Path -LiteralPath $crossgen)) {
        Write-Host "==> no crossgen2 for .NET $runtime in the NuGet cache: the precompiled-PowerShell rows are left out"
    } elseif (-not (Test-Path -LiteralPath (Join-Path $copy '.done'))) {
        Write-Host "==> precompiling a copy of PowerShell ($PSHOME) with crossgen2 (once; kept in out/bench-pwsh-r2r)"
        if (Test-Path -LiteralPath $copy) { Remove-Item -LiteralPath $copy -Recurse -Force }
        $null = New-Item -ItemType Directory -Path $copy -Force
        Copy-Item -Path (Join-Path $PSHOME '*') -Destination $copy -Recurse
        $framework = [System.Runtime.InteropServices.RuntimeEnvironment]::GetRuntimeDirectory()
        # The references go in a response file, their wildcards for crossgen2 to expand: on Linux,
        # PowerShell expands a wildcard argument to a native command itself, and crossgen2 then
        # takes every file after the first for one more input.
        $references = Join-Path $copy 'references.rsp'
        Set-Content -LiteralPath $references -Value @("-r:$(Join-Path $framework '*.dll')", "-r:$(Join-Path $PSHOME '*.dll')")
        $made = 0
        foreach ($dll in Get-ChildItem -LiteralPath $PSHOME -Filter '*.dll') {
            $out = Join-Path $copy "$($dll.BaseName).r2r"
            & $crossgen $dll.FullName -o $out "@$references" --targetos linux --targetarch x64 -O *> $null
            # not every file is IL crossgen2 takes (native code, reference assemblies): those stay as they are
            if ($LASTEXITCODE -eq 0 -and (Test-Path -LiteralPath $out)) { Move-Item -LiteralPath $out -Destination (Join-Path $copy $dll.Name) -Force; $made++ }
            elseif (Test-Path -LiteralPath $out) { Remove-Item -LiteralPath $out -Force }
        }
        Write-Host "    $made assemblies precompiled"
        $null = New-Item -ItemType File -Path (Join-Path $copy '.done')
    }
    if (Test-Path -LiteralPath (Join-Path $copy '.done')) { $precompiled = Join-Path $copy 'pwsh' }
}

Write-Host '==> building bench/PSContainerd.Bench'
& dotnet build $project -c Release --nologo -v quiet --disable-build-servers -p:UseSharedCompilation=false | Out-Host
if ($LASTEXITCODE -ne 0) { throw "bench/PSContainerd.Bench did not build ($LASTEXITCODE)" }

& dotnet run --project $project -c Release --no-build -- `
    --iterations $Iterations --overrun $Overrun --bulk $Bulk --bulkrounds $BulkRounds --cold $Cold `
    --burst $Burst --trace $Trace --skip ($Skip -join ',') --doc $doc --results $results --render $(if ($Render) { 'true' } else { 'false' }) `
    --pwsh $pwsh --pwshprecompiled $precompiled --nocrossmodule $noCrossModule
if ($LASTEXITCODE -ne 0) { throw "the bench failed ($LASTEXITCODE)" }
