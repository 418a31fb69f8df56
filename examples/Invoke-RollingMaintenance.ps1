<#
.SYNOPSIS
    Rolls a maintenance script block across hosts, a batch at a time, over PowerShell remoting via
    SSH: stop the running containers, run the maintenance, start them again, check they run.

.DESCRIPTION
    For each batch of hosts (-BatchSize at a time, the hosts of a batch in parallel):

      1. Connect (New-PSSession -HostName) and record the containers that are Running.
      2. Stop them with Stop-Container, each with its own stop signal and timeout.
      3. Run the -Maintenance script block on the host, as Invoke-Command runs any block.
      4. Start what was running, then check that every one of them is Running and still Running
         -MinReadySeconds later (Wait-Container -Condition NotRunning bounded by that time).

    A host fails at the first step that goes wrong: it cannot be reached, a stop ends as Failed,
    the maintenance block writes an error or throws, a container does not start or does not stay
    Running. A failed host is left as that step left it (its containers stay stopped when the
    maintenance failed) for someone to look at, and the roll halts: the hosts of later batches are
    not touched and are reported as Skipped. The other hosts of the failed host's batch, already
    under way, finish their own roll.

    PSContainerd must be installed on every host (docs/fleet.md says how). Import it on the
    machine this runs on too, so the results' format views apply.

    -WhatIf connects to each host and reads its running containers (nothing else), then shows what
    would be stopped, per host and batch; -Confirm asks per host (a host declined is Skipped and
    the roll goes on).

.PARAMETER HostName
    The hosts, in the order to roll them. Duplicates are dropped.

.PARAMETER Maintenance
    What to do on each host while its containers are stopped. It runs on the host (use $using:
    for the caller's variables). Any error it writes, terminating or not, fails the host.

.PARAMETER BatchSize
    How many hosts are maintained at once. Default 1: one host at a time.

.PARAMETER MinReadySeconds
    How long each started container must stay Running to count as up. 0 checks once, right after
    the start. Default 5.

.PARAMETER Namespace
    The containerd namespace on each host. Default: each host's own default
    ($env:CONTAINERD_NAMESPACE there, else `default`).

.PARAMETER Port
    The SSH port of the hosts (New-PSSession -Port). Default 22.

.PARAMETER UserName
    The SSH user (New-PSSession -UserName).

.PARAMETER KeyFilePath
    The SSH private key (New-PSSession -KeyFilePath).

.PARAMETER Options
    ssh options (New-PSSession -Options), e.g. @{ UserKnownHostsFile = '~/.ssh/fleet_known_hosts' }.

.PARAMETER ConnectingTimeout
    Milliseconds to wait for a host's session to open (New-PSSession -ConnectingTimeout).

.OUTPUTS
    RollingMaintenanceResult, one per host, in roll order: HostName, Batch, Status (Completed,
    Failed, Skipped), FailedStep (Connect, Record, Stop, Maintenance, Start, Verify), Containers
    (the ids that were Running), StopResults, MaintenanceOutput, NotRunning (ids not Running at the
    end), Errors (the host's ErrorRecords), Duration.

.EXAMPLE
    ./examples/Invoke-RollingMaintenance.ps1 -HostName node1, node2, node3 -UserName ops -Maintenance {
        apt-get -o DPkg::Lock::Timeout=300 install -y --only-upgrade runc 2>&1
        if ($LASTEXITCODE) { throw "apt-get failed ($LASTEXITCODE)" }
    }

    Upgrades runc on three hosts one at a time; stops at the first host where the upgrade or
    a restart of its containers fails.

.EXAMPLE
    $plan = @{ HostName = Get-Content ./hosts.txt; BatchSize = 2; Maintenance = { Restart-Computer -WhatIf } }
    ./examples/Invoke-RollingMaintenance.ps1 @plan -WhatIf

    Shows, per host and batch, which containers would be stopped.

.EXAMPLE
    ./examples/Invoke-RollingMaintenance.ps1 -HostName (Get-Content ./hosts.txt) -Maintenance $fix |
        Where-Object Status -ne 'Completed' | Format-List HostName, FailedStep, NotRunning, Errors

    What went wrong where.
#>
#Requires -Version 7.4
[CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Medium')]
[OutputType('RollingMaintenanceResult')]
param(
    [Parameter(Mandatory, Position = 0)]
    [ValidateNotNullOrEmpty()]
    [string[]] $HostName,

    [Parameter(Mandatory, Position = 1)]
    [scriptblock] $Maintenance,

    [ValidateRange(1, 1000)]
    [int] $BatchSize = 1,

    [ValidateRange(0, 3600)]
    [int] $MinReadySeconds = 5,

    [string] $Namespace,

    [ValidateRange(1, 65535)]
    [int] $Port = 22,

    [string] $UserName,

    [string] $KeyFilePath,

    [hashtable] $Options,

    [ValidateRange(0, [int]::MaxValue)]
    [int] $ConnectingTimeout
)

Set-StrictMode -Version 3.0

class RollingMaintenanceResult {
    [string] $HostName
    [int] $Batch
    [string] $Status = 'Skipped'
    [string] $FailedStep
    [string[]] $Containers = @()
    [object[]] $StopResults = @()
    [object[]] $MaintenanceOutput = @()
    [string[]] $NotRunning = @()
    [object[]] $Errors = @()
    [timespan] $Duration
}
Update-TypeData -TypeName RollingMaintenanceResult -DefaultDisplayPropertySet HostName, Batch, Status, FailedStep, Containers, NotRunning -Force -WhatIf:$false

# The host an ErrorRecord came from: remote errors carry OriginInfo; a session that could not open
# or broke names its host as the TargetObject.
function Get-ErrorHost($ErrorRecord) {
    if ($ErrorRecord.PSObject.Properties['OriginInfo'] -and $ErrorRecord.OriginInfo) { return $ErrorRecord.OriginInfo.PSComputerName }
    if ($ErrorRecord.TargetObject -is [string]) { return $ErrorRecord.TargetObject }
    if ($ErrorRecord.TargetObject -is [System.Management.Automation.Runspaces.PSSession]) { return $ErrorRecord.TargetObject.ComputerName }
    return $null
}

# Runs $ScriptBlock on the sessions of the hosts still going; returns the output per host and
# marks every host that wrote an error (or whose session broke) as failed at $Step.
function Invoke-Step {
    param([string] $Step, [scriptblock] $ScriptBlock, [object[]] $ArgumentList = @())
    $live = @($script:running.Values | Where-Object { $_.Status -eq 'Running' })
    $byHost = @{}
    if (-not $live) { return $byHost }
    $errs = @()
    $out = Invoke-Command -Session $live.Session -ScriptBlock $ScriptBlock -ArgumentList $ArgumentList `
        -ErrorAction SilentlyContinue -ErrorVariable errs
    foreach ($o in $out) {
        $h = $o.PSComputerName
        if (-not $byHost.ContainsKey($h)) { $byHost[$h] = [System.Collections.Generic.List[object]]::new() }
        $byHost[$h].Add($o)
    }
    foreach ($e in $errs) {
        $h = Get-ErrorHost $e
        $state = if ($h) { $script:running[$h] } else { $null }
        if (-not $state) {
            # an error no host claims: it belongs to every host of the step
            foreach ($s in $live) { Set-HostFailed $s $Step $e }
            continue
        }
        Set-HostFailed $state $Step $e
    }
    # a broken session writes its error once; any session no longer open has failed
    foreach ($s in $live) {
        if ($s.Session.State -ne 'Opened') { Set-HostFailed $s $Step $null }
    }
    return $byHost
}

function Set-HostFailed($State, [string] $Step, $ErrorRecord) {
    if ($ErrorRecord) { $State.Result.Errors += $ErrorRecord }
    if ($State.Status -eq 'Running') {
        $State.Status = 'Failed'
        $State.Result.Status = 'Failed'
        $State.Result.FailedStep = $Step
    }
}

function Get-Output($ByHost, [string] $HostName) {
    if ($ByHost.ContainsKey($HostName)) { return @($ByHost[$HostName]) }
    return @()
}

$hosts = @($HostName | Where-Object { $_ } | Select-Object -Unique)
$batchCount = [math]::Ceiling($hosts.Count / $BatchSize)
$ssh = @{}
foreach ($name in 'Port', 'UserName', 'KeyFilePath', 'Options', 'ConnectingTimeout') {
    if ($PSBoundParameters.ContainsKey($name)) { $ssh[$name] = $PSBoundParameters[$name] }
}
$nsArgs = @{}
if ($Namespace) { $nsArgs.Namespace = $Namespace }
$whatIf = [bool] $WhatIfPreference
$halted = $false

for ($b = 0; $b -lt $batchCount; $b++) {
    $batch = @($hosts | Select-Object -Skip ($b * $BatchSize) -First $BatchSize)
    $script:running = [ordered]@{}
    foreach ($h in $batch) {
        $result = [RollingMaintenanceResult]@{ HostName = $h; Batch = $b + 1 }
        $script:running[$h] = [pscustomobject]@{
            Result = $result; Session = $null; Status = 'Running'; Clock = [System.Diagnostics.Stopwatch]::StartNew()
        }
    }
    if ($halted) {
        foreach ($s in $script:running.Values) { $s.Result }
        continue
    }

    try {
        # 1. connect and record
        $connectErrors = @()
        $sessions = @(New-PSSession -HostName $batch @ssh -ErrorAction SilentlyContinue -ErrorVariable connectErrors)
        foreach ($session in $sessions) {
            if ($script:running.Contains($session.ComputerName)) { $script:running[$session.ComputerName].Session = $session }
        }
        foreach ($s in $script:running.Values) {
            if (-not $s.Session) {
                $mine = @($connectErrors | Where-Object { (Get-ErrorHost $_) -eq $s.Result.HostName })
                if (-not $mine) { $mine = @($connectErrors) }
                Set-HostFailed $s 'Connect' $null
                $s.Result.Errors += $mine
            }
        }
        $recorded = Invoke-Step 'Record' {
            param([hashtable] $NsArgs)
            Import-Module PSContainerd -ErrorAction Stop
            $global:RollingMaintenanceContainers = @(Get-Container @NsArgs | Where-Object Status -eq 'Running' | ForEach-Object Id)
            $global:RollingMaintenanceContainers
        } -ArgumentList $nsArgs
        foreach ($s in $script:running.Values) {
            $s.Result.Containers = @(Get-Output $recorded $s.Result.HostName | ForEach-Object { [string] $_ })
        }

        # the plan, per host: -WhatIf says it and changes nothing; -Confirm may decline a host
        foreach ($s in $script:running.Values) {
            if ($s.Status -ne 'Running') { continue }
            $ids = $s.Result.Containers
            $what = if ($ids.Count) { "stop $($ids.Count) running container(s) ($($ids -join ', ')), run the maintenance script block, start them and check they stay Running for $MinReadySeconds s" }
                    else { 'no running container; run the maintenance script block' }
            if (-not $PSCmdlet.ShouldProcess("$($s.Result.HostName) (batch $($b + 1) of $batchCount)", $what)) {
                $s.Status = 'Declined'
            }
        }
        if ($whatIf) { continue }

        # 2. stop, each container with its own signal and timeout
        $stopped = Invoke-Step 'Stop' {
            param([hashtable] $NsArgs)
            if ($global:RollingMaintenanceContainers) {
                Stop-Container -Id $global:RollingMaintenanceContainers @NsArgs -Confirm:$false
            }
        } -ArgumentList $nsArgs
        foreach ($s in @($script:running.Values)) {
            $s.Result.StopResults = @(Get-Output $stopped $s.Result.HostName)
            if ($s.Status -eq 'Running' -and @($s.Result.StopResults | Where-Object Outcome -eq 'Failed').Count) {
                Set-HostFailed $s 'Stop' $null
            }
        }

        # 3. the caller's maintenance, on every host still going
        $maintained = Invoke-Step 'Maintenance' $Maintenance
        foreach ($s in $script:running.Values) {
            $s.Result.MaintenanceOutput = @(Get-Output $maintained $s.Result.HostName)
        }

        # 4. start what was running; every one must be Running, and still Running MinReadySeconds later
        $verified = Invoke-Step 'Start' {
            param([hashtable] $NsArgs, [int] $MinReadySeconds)
            $ids = $global:RollingMaintenanceContainers
            if (-not $ids) { return }
            Start-Container -Id $ids @NsArgs -Confirm:$false | Out-Null
            if ($MinReadySeconds -gt 0) {
                Wait-Container -Id $ids @NsArgs -Condition NotRunning -Timeout $MinReadySeconds -ErrorAction SilentlyContinue | Out-Null
            }
            foreach ($id in $ids) {
                $c = Get-Container -Id $id @NsArgs -ErrorAction SilentlyContinue
                if (-not $c -or $c.Status -ne 'Running') { $id }
            }
        } -ArgumentList $nsArgs, $MinReadySeconds
        foreach ($s in $script:running.Values) {
            if ($s.Status -notin 'Running', 'Failed' -or -not $s.Result.Containers) { continue }
            if ($s.Result.FailedStep -and $s.Result.FailedStep -ne 'Start') { continue }
            $s.Result.NotRunning = @(Get-Output $verified $s.Result.HostName | ForEach-Object { [string] $_ })
            if ($s.Result.NotRunning.Count) { Set-HostFailed $s 'Verify' $null }
        }

        foreach ($s in $script:running.Values) {
            switch ($s.Status) {
                'Running'  { $s.Result.Status = 'Completed' }
                'Declined' { $s.Result.Status = 'Skipped' }
                'Failed'   { $halted = $true }
            }
        }
    } finally {
        foreach ($s in $script:running.Values) {
            if ($s.Session) { Remove-PSSession -Session $s.Session -ErrorAction SilentlyContinue -WhatIf:$false -Confirm:$false }
        }
    }
    foreach ($s in $script:running.Values) {
        $s.Result.Duration = $s.Clock.Elapsed
        $s.Result
    }
}
