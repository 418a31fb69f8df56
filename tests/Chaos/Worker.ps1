#Requires -Version 7.4
<#
.SYNOPSIS
    A warm chaos worker: imports the built module once, then runs one command per JSON line read
    from stdin and answers each with one JSON line on stdout.

.DESCRIPTION
    Started by Invoke-Chaos.ps1 (three of them as sessions, one as the observer). A request is
    { "n": 12, "op": "Stop", "id": "cx3", "args": { "Timeout": 2 } }; the answer is
    { "n": 12, "worker": PID, "began": MS, "ended": MS, "ok": true, "result": {...}, "errorId": "...",
    "error": "..." } (began and ended: the call's own start and end here, Unix milliseconds).
    Requests are handled one at a time, in order. The special op "Observe" answers with a snapshot
    of every container (Get-Container) and is what the observer loops on. End of stdin ends it.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $ModulePath
)

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$WarningPreference = 'SilentlyContinue'
$InformationPreference = 'SilentlyContinue'

Import-Module -Name $ModulePath
$out = [Console]::Out

function Send([hashtable] $Answer) {
    $Answer['worker'] = $PID
    $line = $Answer | ConvertTo-Json -Compress -Depth 6
    $out.WriteLine($line)
    $out.Flush()
}

function ConvertTo-Utc($Value) {
    if ($null -eq $Value) { return $null }
    return ([datetime] $Value).ToUniversalTime().ToString('o')
}

# The parts of a result the invariants read (the full objects are large and partly circular).
function Select-ResultFields($Item) {
    if ($null -eq $Item) { return $null }
    $names = $Item.PSObject.Properties.Name
    $r = [ordered]@{}
    foreach ($n in 'Id', 'Outcome', 'Escalation', 'ExitCode', 'Status', 'Pid', 'RestartCount', 'RestartPolicy',
                   'TimedOut', 'Condition', 'Action', 'TaskStatus', 'Detail', 'Error', 'ProcessId', 'IsCurrentProcess',
                   'Responding', 'LockPath', 'ExecId', 'Via', 'RemovedAt', 'PathA', 'PathB', 'PathA2', 'SameSocket') {
        if ($names -contains $n) { $r[$n] = $Item.$n }
    }
    foreach ($n in 'ExitedAt') { if ($names -contains $n) { $r[$n] = ConvertTo-Utc $Item.$n } }
    foreach ($n in 'Outcome', 'Escalation', 'Status', 'Action') { if ($r.Contains($n) -and $null -ne $r[$n]) { $r[$n] = [string] $r[$n] } }
    return $r
}

function Get-Snapshot {
    $list = @(Get-Container -ErrorAction SilentlyContinue)
    foreach ($c in $list) {
        $l = $c.Labels
        [ordered]@{
            Id           = $c.Id
            Status       = [string] $c.Status
            Pid          = $c.Pid
            ExitCode     = $c.ExitCode
            ExitedAt     = ConvertTo-Utc $c.ExitedAt
            RestartCount = $c.RestartCount
            State        = if ($l) { $l['pscontainerd/state'] } else { $null }
            Manual       = if ($l) { $l['pscontainerd/manually-stopped'] } else { $null }
            Intent       = if ($l) { $l['pscontainerd/stop-intent'] } else { $null }
            Due          = if ($l) { $l['pscontainerd/restart-due'] } else { $null }
        }
    }
}

function New-ChaosContainer([string] $Id, $a, [bool] $Start) {
    $env = @("CHAOS_ID=$Id", "CHAOS_LIFE=$($a.Life)", "CHAOS_TRAP=$($a.Trap)")
    New-Container -Id $Id -RootFs $a.RootFs -Command '/bin/sh', '-c', $a.Script -Environment $env `
        -RestartPolicy $a.Policy -StopTimeout $a.StopTimeout -Start:$Start
}

# An exec that exits with $a.Code: through Invoke-ContainerCommand (its exec id is generated), or
# through ctr with the container's own id as exec id, which the engine once took for the init.
function Invoke-ChaosExec([string] $Id, $a) {
    $cmd = 'sh', '-c', "exit $($a.Code)"
    if ($a.Via -eq 'cmdlet') {
        $r = Invoke-ContainerCommand -Id $Id -Command $cmd -Timeout 10 -Confirm:$false
        return [pscustomobject]@{ Id = $Id; Via = 'cmdlet'; ExecId = $r.ExecId; ExitCode = $r.ExitCode }
    }
    $psi = [Diagnostics.ProcessStartInfo]::new('ctr')
    foreach ($x in @('--address', $a.Address, '-n', $env:CONTAINERD_NAMESPACE, 'task', 'exec', '--exec-id', $Id, $Id) + $cmd) { $psi.ArgumentList.Add($x) }
    $psi.RedirectStandardOutput = $true; $psi.RedirectStandardError = $true; $psi.UseShellExecute = $false
    $p = [Diagnostics.Process]::Start($psi)
    $err = $p.StandardError.ReadToEndAsync(); $null = $p.StandardOutput.ReadToEndAsync()
    if (-not $p.WaitForExit(15000)) { $p.Kill($true); throw "ctr task exec --exec-id $Id ${Id}: no answer within 15 s" }
    # ctr answers the exec's own status; anything else is ctr's failure (no task, exec id in use)
    if ($p.ExitCode -ne [int] $a.Code) { throw "ctr task exec --exec-id $Id $Id exited $($p.ExitCode): $("$($err.Result)".Trim())" }
    [pscustomobject]@{ Id = $Id; Via = 'ctr'; ExecId = $Id; ExitCode = $p.ExitCode }
}

function Invoke-Request {
    [CmdletBinding()]
    param($Req)
    $a = @{}
    if ($Req.args) { foreach ($p in $Req.args.PSObject.Properties) { $a[$p.Name] = $p.Value } }
    $id = $Req.id
    switch ($Req.op) {
        'New'     { New-ChaosContainer $id $a ([bool] $a.Start) }
        # remove and create again in one call: a restart the old container had pending must never
        # start the new one (RemovedAt: when the remove returned)
        'Recreate' {
            if (Get-Container -Id $id -ErrorAction Ignore) { Remove-Container -Id $id -Force }
            $removed = [DateTimeOffset]::UtcNow.ToUnixTimeMilliseconds()
            $c = New-ChaosContainer $id $a ([bool] $a.Start)
            [pscustomobject]@{ Id = $id; Status = [string] $c.Status; RemovedAt = $removed }
        }
        'Exec'    { Invoke-ChaosExec $id $a }
        # the holder through both paths to the socket, then the first again; SameSocket: both paths
        # named one socket before and after (not so while a restarted containerd's new socket is not
        # linked yet: the second path then names the old, dead one, whose lock nobody gives up at once)
        'Supervisors' {
            $before = @(& stat -Lc '%d:%i' @($a.Paths) 2>$null)
            $h = foreach ($addr in @($a.Paths) + @($a.Paths)[0]) { "$((@(Get-ContainerSupervisor -Address $addr) | Select-Object -First 1).ProcessId)" }
            $after = @(& stat -Lc '%d:%i' @($a.Paths) 2>$null)
            $same = $before.Count -eq 2 -and $after.Count -eq 2 -and @($before + $after | Select-Object -Unique).Count -eq 1
            [pscustomobject]@{ PathA = $h[0]; PathB = $h[1]; PathA2 = $h[2]; SameSocket = $same }
        }
        'Start'   { Start-Container -Id $id }
        'Stop'    { Stop-Container -Id $id -Timeout $a.Timeout }
        'Restart' { Restart-Container -Id $id -Timeout $a.Timeout }
        'Remove'  { Remove-Container -Id $id -Force:([bool] $a.Force) }
        'Suspend' { Suspend-Container -Id $id }
        'Resume'  { Resume-Container -Id $id }
        'Signal'  { Send-ContainerSignal -Id $id -Signal $a.Signal }
        'Wait'    { Wait-Container -Id $id -Condition $a.Condition -Timeout $a.Timeout }
        'Restore' { if ($id) { Restore-ContainerState -Id $id } else { Restore-ContainerState } }
        'Get'     { Get-Container -Id $id }
        'Supervisor' { Get-ContainerSupervisor }
        # the end of a run: kill and remove every container, so the fixture's teardown finds nothing
        'Cleanup' {
            Get-Container | Where-Object Status -in 'Running', 'Paused', 'Restarting' | Send-ContainerSignal -Signal SIGKILL
            Get-Container | Remove-Container -Force
        }
        default   { throw "unknown op '$($Req.op)'" }
    }
}

Send @{ ready = $true }
while ($null -ne ($line = [Console]::In.ReadLine())) {
    if (-not $line.Trim()) { continue }
    $req = $line | ConvertFrom-Json
    # When the call began and ended here: the controller reads answers between its checks, so its
    # own clock would charge a call for the time the answer waited in the pipe.
    $began = [DateTimeOffset]::UtcNow.ToUnixTimeMilliseconds()
    if ($req.op -eq 'Observe') {
        $snap = @()
        $err = $null
        try { $snap = @(Get-Snapshot) } catch { $err = $_.Exception.Message }
        Send @{ n = $req.n; ok = ($null -eq $err); result = $snap; error = $err }
        continue
    }
    $errs = $null
    $results = @()
    $thrown = $null
    try {
        $results = @(Invoke-Request $req -ErrorAction SilentlyContinue -ErrorVariable errs)
    } catch {
        $thrown = $_
    }
    $ended = [DateTimeOffset]::UtcNow.ToUnixTimeMilliseconds()
    $all = @(@($errs) + @($thrown) | Where-Object { $_ })
    $first = $all | Select-Object -First 1
    Send @{
        n       = $req.n
        began   = $began
        ended   = $ended
        ok      = ($all.Count -eq 0)
        result  = @($results | ForEach-Object { Select-ResultFields $_ })
        errorId = if ($first -is [System.Management.Automation.ErrorRecord]) { $first.FullyQualifiedErrorId } else { $null }
        error   = if ($first) { "$first" } else { $null }
    }
}
