# Shared by the Pester suites: dot-source in BeforeAll (and BeforeDiscovery when discovery needs
# the module). Imports the module under test and checks the fixture's environment; a missing
# containerd or root filesystem fails the suite loudly instead of skipping it.

$script:ModulePath = if ($env:PSCD_MODULE_PATH) { $env:PSCD_MODULE_PATH } else { Join-Path $PSScriptRoot '../../out/PSContainerd/PSContainerd.psd1' }

function Assert-TestEnvironment {
    if (-not $env:CONTAINERD_ADDRESS) {
        throw 'CONTAINERD_ADDRESS is not set: run the suite through build.ps1 -Task Test (tests/Fixtures/testenv.sh starts a private containerd).'
    }
    if (-not (Test-Path -LiteralPath $env:CONTAINERD_ADDRESS)) {
        throw "CONTAINERD_ADDRESS '$env:CONTAINERD_ADDRESS' does not exist: the private containerd is not running."
    }
    if (-not $env:PSCD_TEST_ROOTFS -or -not (Test-Path -LiteralPath (Join-Path $env:PSCD_TEST_ROOTFS 'bin/sh'))) {
        throw "PSCD_TEST_ROOTFS '$env:PSCD_TEST_ROOTFS' is not a busybox root filesystem (no bin/sh)."
    }
}

function Import-ModuleUnderTest {
    if (-not (Test-Path -LiteralPath $script:ModulePath)) {
        throw "The module is not built at '$script:ModulePath': run build.ps1 -Task Build, or set PSCD_MODULE_PATH."
    }
    Import-Module $script:ModulePath -Force -ErrorAction Stop
}

# What a suite's BeforeAll does first: the fixture checked, the module under test imported.
function Initialize-TestSuite {
    Assert-TestEnvironment
    Import-ModuleUnderTest
}

# A container id no other test (or earlier run) uses.
function New-TestId([string] $Prefix = 'lc') {
    "$Prefix-$([guid]::NewGuid().ToString('N').Substring(0, 8))"
}

# Polls $Condition until it returns something truthy, which is returned; throws at the deadline,
# so a bare Wait-Condition is an assertion (piping it to Should -BeTrue adds nothing that can fail).
function Wait-Condition {
    param(
        [Parameter(Mandatory)] [scriptblock] $Condition,
        [double] $TimeoutSeconds = 15,
        [Parameter(Mandatory)] [string] $Because
    )
    $deadline = [datetime]::UtcNow.AddSeconds($TimeoutSeconds)
    while ($true) {
        $result = & $Condition
        if ($result) { return $result }
        if ([datetime]::UtcNow -ge $deadline) {
            throw "Timed out after $TimeoutSeconds s waiting until $Because."
        }
        Start-Sleep -Milliseconds 50
    }
}

# The status Get-Container reports, or $null when the container is gone.
function Get-TestStatus([string] $Id, [string] $Namespace = 'default') {
    $c = Get-Container -Id $Id -Namespace $Namespace -ErrorAction SilentlyContinue
    if ($c) { $c.Status } else { $null }
}

# Removes every container whose id starts with one of $Prefixes (tests name theirs uniquely).
function Remove-TestContainers([string[]] $Ids, [string] $Namespace = 'default') {
    foreach ($id in $Ids) {
        Get-Container -Id "$id*" -Namespace $Namespace -ErrorAction SilentlyContinue |
            Remove-Container -Namespace $Namespace -Force -Confirm:$false -ErrorAction Continue
    }
}

# For a container whose shell installs a trap: waits until it has (the trapped signals' bits are
# set in SigCgt of /proc/PID/status). A stop sent before that finds PID 1 without a handler and
# the kernel drops the signal: a race in the test container, not in the stop.
function Wait-ContainerTrap([string] $Id, [string] $Namespace = $env:CONTAINERD_NAMESPACE, [int[]] $Signal = 15) {
    if (-not $Namespace) { $Namespace = 'default' }
    $containerPid = (Get-Container -Id $Id -Namespace $Namespace).Pid
    if (-not $containerPid) { return }
    [uint64] $mask = 0
    foreach ($s in $Signal) { $mask = $mask -bor ([uint64]1 -shl ($s - 1)) }
    Wait-Condition -TimeoutSeconds 10 -Because "$Id's shell installed its trap" {
        $line = Get-Content "/proc/$containerPid/status" -ErrorAction SilentlyContinue | Where-Object { $_ -like 'SigCgt:*' }
        (-not $line) -or (([Convert]::ToUInt64($line.Substring(7).Trim(), 16) -band $mask) -eq $mask)
    } | Out-Null
}

# Runs $Script in a child pwsh ("another session") that imports the module with CONTAINERD_NAMESPACE
# set to $Namespace; returns the process, not waited for.
function Start-ChildSession([string] $Script, [string] $Namespace = $script:Ns) {
    $full = "Import-Module '$script:ModulePath'; `$env:CONTAINERD_NAMESPACE = '$Namespace'; $Script"
    $encoded = [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes($full))
    $psi = [Diagnostics.ProcessStartInfo]::new('dotnet', "pwsh -NoProfile -NonInteractive -EncodedCommand $encoded")
    $psi.WorkingDirectory = (Resolve-Path "$PSScriptRoot/../..").Path
    $psi.RedirectStandardOutput = $true
    $psi.RedirectStandardError = $true
    [Diagnostics.Process]::Start($psi)
}

# Imports the fixture's test images (tests/Fixtures/testimage.sh: pscd.test/busybox:latest and
# pscd.test/busybox-usr1:latest, one busybox layer) into $Namespace, unpacked for $Snapshotter.
function Import-TestImage([string] $Namespace, [string] $Snapshotter = 'overlayfs') {
    $fixture = if ($env:PSCD_FIXTURE) { $env:PSCD_FIXTURE } else { Join-Path $PSScriptRoot '../Fixtures/testenv.sh' }
    $out = & bash $fixture image $env:PSCD_TEST_DIR $Namespace $Snapshotter 2>&1
    if ($LASTEXITCODE -ne 0) { throw "testenv.sh image could not import the test images into '$Namespace': $out" }
}

# The snapshot keys `ctr snapshots ls` lists in $Namespace for $Snapshotter.
function Get-TestSnapshotKey([string] $Namespace, [string] $Snapshotter = 'overlayfs') {
    $lines = & ctr --address $env:CONTAINERD_ADDRESS -n $Namespace snapshots --snapshotter $Snapshotter ls
    if ($LASTEXITCODE -ne 0) { throw "ctr snapshots ls failed in '$Namespace'" }
    $lines | Select-Object -Skip 1 | ForEach-Object { ($_ -split '\s+')[0] }
}
