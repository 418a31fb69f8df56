#Requires -Version 7.4
<#
.SYNOPSIS
    One chaos run: random operations from three warm PowerShell sessions and random faults against
    a private containerd, all derived from a seed, checked against invariants during the run and
    after it quiesces.

.DESCRIPTION
    Starts its own containerd (tests/Fixtures/testenv.sh) so the faults (containerd restarts,
    killed shims) hit nothing else. Writes the history (every call with its start, end and result,
    every fault with its time, the containers' runs) as JSON lines to -HistoryPath. Prints one
    line "chaos seed S: ..." with the figures, and for each violated invariant the seed, the rule,
    what happened and the last events of that container. Exit code 0 when no invariant was
    violated, 1 otherwise. docs/chaos.md describes the rules and how to read a failure.

.EXAMPLE
    dotnet pwsh tests/Chaos/Invoke-Chaos.ps1 -Seed 42 -Seconds 60
#>
[CmdletBinding()]
param(
    [int] $Seed = (Get-Random -Minimum 1 -Maximum 1000000),
    [ValidateRange(5, 86400)] [int] $Seconds = 45,
    [ValidateRange(1, 64)] [int] $Size = 8,
    [string] $ModulePath = $(if ($env:PSCD_MODULE_PATH) { $env:PSCD_MODULE_PATH } else { Join-Path $PSScriptRoot '../../out/PSContainerd/PSContainerd.psd1' }),
    [string] $HistoryPath,
    # the private containerd's folder (default: a new /tmp/pscd-chaos-* folder); the caller may
    # name it so it can clean up after a run it had to kill
    [string] $EnvDir,
    [switch] $KeepEnv,
    # the extended plan (docs/chaos.md): execs, Recreate, two paths to the socket, a frozen
    # supervisor, a second local user; off unless asked, so a seed replays its own schedule
    [switch] $Extended
)

Set-StrictMode -Off
$ErrorActionPreference = 'Stop'
. (Join-Path $PSScriptRoot 'Plan.ps1')
. (Join-Path $PSScriptRoot 'Faults.ps1')
. (Join-Path $PSScriptRoot 'Invariants.ps1')
. (Join-Path $PSScriptRoot 'ExtendedInvariants.ps1')
. (Join-Path $PSScriptRoot 'Extended.ps1')

$Fixture = Join-Path $PSScriptRoot '../Fixtures/testenv.sh'
# A namespace of the run's own: runc keeps its state under /run/containerd/runc/NAMESPACE/ID for
# every containerd on the host, so a run in `default` could meet what an earlier run (its shims
# killed) or the host's own containerd left under the same ids.
$Namespace = "chaos-$Seed-$([guid]::NewGuid().ToString('N').Substring(0, 6))"
$WorkerScript = Join-Path $PSScriptRoot 'Worker.ps1'
$PwshDll = Join-Path $PSHOME 'pwsh.dll'
$Dotnet = (Get-Command dotnet -CommandType Application | Select-Object -First 1).Source
$ModulePath = (Resolve-Path -LiteralPath $ModulePath).Path
if (-not $HistoryPath) { $HistoryPath = Join-Path ([IO.Path]::GetTempPath()) "pscd-chaos-$Seed.jsonl" }
$SessionCount = 3

function Now { [DateTimeOffset]::UtcNow.ToUnixTimeMilliseconds() }

# --- history ------------------------------------------------------------------------------------
$History = [System.Collections.Generic.List[object]]::new()
$HistoryWriter = [IO.StreamWriter]::new($HistoryPath, $false)
function Add-History($Event) {
    $History.Add($Event)
    $HistoryWriter.WriteLine(($Event | ConvertTo-Json -Compress -Depth 8))
    $HistoryWriter.Flush()
}

# --- the private containerd -----------------------------------------------------------------------
if (-not $EnvDir) { $EnvDir = (& mktemp -d /tmp/pscd-chaos-XXXXXX) }
& bash $Fixture start $EnvDir *> $null
if ($LASTEXITCODE -ne 0) { throw "testenv.sh start $EnvDir failed" }
$Socket = "$EnvDir/containerd.sock"
$RootFs = "$EnvDir/rootfs"
$AltSocket = "$EnvDir/alt/containerd.sock"
Update-AltSocket
$null = New-Item -ItemType Directory -Path "$RootFs/chaos" -Force
# the containers log /proc/uptime; pairs of (uptime, wall time) taken every second turn it into
# wall time (ConvertFrom-Uptime: the wall clock can be stepped while uptime runs on)
$ClockAnchors = [System.Collections.Generic.List[double[]]]::new()
$script:LastAnchor = 0
function Add-ClockAnchor {
    $now = Now
    if ($now - $script:LastAnchor -lt 1000) { return }
    $script:LastAnchor = $now
    $ClockAnchors.Add([double[]] @([double] ([IO.File]::ReadAllText('/proc/uptime').Split(' ')[0]), $now))
}
Add-ClockAnchor

# --- sessions -------------------------------------------------------------------------------------
function Start-Session([int] $Slot) {
    $psi = [Diagnostics.ProcessStartInfo]::new($Dotnet)
    foreach ($a in @($PwshDll, '-NoProfile', '-NonInteractive', '-File', $WorkerScript, '-ModulePath', $ModulePath)) { $psi.ArgumentList.Add($a) }
    $psi.UseShellExecute = $false
    $psi.RedirectStandardInput = $true
    $psi.RedirectStandardOutput = $true
    $psi.RedirectStandardError = $true
    $psi.Environment['CONTAINERD_ADDRESS'] = Get-SessionAddress $Slot
    $psi.Environment['CONTAINERD_NAMESPACE'] = $Namespace
    $p = [Diagnostics.Process]::Start($psi)
    [pscustomobject]@{
        Slot = $Slot; Proc = $p; Pid = $p.Id; Read = $p.StandardOutput.ReadLineAsync(); Err = $p.StandardError.ReadToEndAsync()
        Ready = $false; Killed = $false; Busy = $null; Backlog = [System.Collections.Generic.Queue[object]]::new(); LastObserve = 0
    }
}

$Sessions = @(for ($i = 0; $i -lt $SessionCount; $i++) { Start-Session $i })
$Observer = Start-Session -1
$HasRestart = $null -ne (Get-Module -ListAvailable -Name $ModulePath | ForEach-Object { $_.ExportedCmdlets['Restart-Container'] })
$HasSupervisor = $null -ne (Get-Module -ListAvailable -Name $ModulePath | ForEach-Object { $_.ExportedCmdlets['Get-ContainerSupervisor'] })

$Plan = New-ChaosPlan -Seed $Seed -Seconds $Seconds -Size $Size -Workers $SessionCount -Extended:$Extended
$Specs = $Plan.Containers
$SpecById = @{}; foreach ($s in $Specs) { $SpecById[$s.Id] = $s }
Add-History ([ordered]@{ k = 'plan'; seed = $Seed; seconds = $Seconds; size = $Size; env = $EnvDir; containers = $Specs; ops = $Plan.Ops.Count; faults = $Plan.Faults; extended = [bool] $Extended; altSocket = $(if ($Extended) { $AltSocket }) })

$Calls = [System.Collections.Generic.List[object]]::new()
$Faults = [System.Collections.Generic.List[object]]::new()
$Exits = @{}; $ExitSeen = @{}
$Created = @{}   # id -> times a task of it was seen created and not started
$MaxRestartCount = @{}
$LastSnap = @{}
$Violations = [System.Collections.Generic.List[object]]::new()
$ViolationKeys = @{}
$script:N = 0

function Add-Violations($List) {
    foreach ($v in @($List)) {
        if (-not $v) { continue }
        $key = "$($v.invariant)|$($v.id)|$($v.t)"
        if ($ViolationKeys.ContainsKey($key)) { continue }
        $ViolationKeys[$key] = $true
        $Violations.Add($v)
        Add-History $v
    }
}

function Add-Exit([string] $Id, $Code, $ExitedAt, [string] $Src) {
    if ($null -eq $Code -or -not $ExitedAt -or -not $Id) { return }
    $at = ConvertTo-EpochMs $ExitedAt
    $key = "$Id|$Code|$at"
    if ($ExitSeen.ContainsKey($key)) { return }
    $ExitSeen[$key] = $true
    if (-not $Exits.ContainsKey($Id)) { $Exits[$Id] = [System.Collections.Generic.List[object]]::new() }
    $Exits[$Id].Add([ordered]@{ code = [int] $Code; at = $at; src = $Src })
}

function Add-Created([string] $Id, $Status, [long] $At) {
    if ($Status -ne 'Created' -or -not $Id) { return }
    if (-not $Created.ContainsKey($Id)) { $Created[$Id] = [System.Collections.Generic.List[long]]::new() }
    $Created[$Id].Add($At)
}

function Send-Request($S, $Call) {
    $Call.t0 = Now
    $Call.slot = $S.Slot
    $Call.pid = $S.Pid
    $S.Busy = $Call
    $S.Proc.StandardInput.WriteLine((@{ n = $Call.n; op = $Call.op; id = $Call.id; args = $Call.args } | ConvertTo-Json -Compress -Depth 5))
    $S.Proc.StandardInput.Flush()
}

function New-Call([string] $Op, [string] $Id, $Arguments) {
    $script:N++
    [ordered]@{ k = 'call'; n = $script:N; slot = $null; pid = $null; op = $Op; id = $Id; args = $Arguments; t0 = $null; t1 = $null; ok = $null; result = @(); errorId = $null; error = $null; lost = $false }
}

function Complete-Call($S, $Answer) {
    $c = $S.Busy
    $S.Busy = $null
    if (-not $c -or $c.n -ne $Answer.n) { return }
    # the call's end as its session saw it (Now would add the time the answer waited for this loop)
    $c.t1 = if ($Answer.ended) { [long] $Answer.ended } else { Now }
    $c.ok = [bool] $Answer.ok
    $c.result = @($Answer.result)
    $c.errorId = $Answer.errorId
    $c.error = $Answer.error
    if ($c.op -ne 'Observe') {
        $Calls.Add($c)
        Add-History $c
        # an exec's ExecResult carries the exec's code, not the container's
        foreach ($r in $c.result) { if ($r -and $r.Id -and $c.op -ne 'Exec') { Add-Exit $r.Id $r.ExitCode $r.ExitedAt "$($c.op) #$($c.n)"; Add-Created $r.Id $r.Status $c.t1 } }
        Add-Violations (Test-CallBound $c $SpecById[$c.id] (Now))
    } else {
        foreach ($x in $c.result) {
            if (-not $x) { continue }
            Add-Exit $x.Id $x.ExitCode $x.ExitedAt 'observer'
            Add-Created $x.Id $x.Status $c.t1
            if ($null -ne $x.RestartCount -and ($null -eq $MaxRestartCount[$x.Id] -or $x.RestartCount -gt $MaxRestartCount[$x.Id].Count)) { $MaxRestartCount[$x.Id] = @{ Count = [int] $x.RestartCount; At = $c.t1 } }
            $sig = ($x | ConvertTo-Json -Compress)
            if ($LastSnap[$x.Id] -ne $sig) { $LastSnap[$x.Id] = $sig; Add-History ([ordered]@{ k = 'obs'; t = $c.t1; id = $x.Id; snap = $x }) }
        }
        $script:LastObservation = @($c.result | Where-Object { $_ })
    }
}

# reads every answer a session has ready; a session that ended on its own is replaced
function Receive-Session($S) {
    while ($S.Read.IsCompleted) {
        $line = $null
        try { $line = $S.Read.Result } catch { }
        if ($null -eq $line) {
            if (-not $S.Killed) {
                $err = try { $S.Err.Result } catch { '' }
                Add-Violations (New-Violation 'session-crashed' $(if ($S.Busy) { $S.Busy.id } else { '' }) (Now) "session pid $($S.Pid) ended on its own during $(if ($S.Busy) { "call #$($S.Busy.n) $($S.Busy.op)" } else { 'no call' }): $("$err".Trim() -split "`n" | Select-Object -Last 5)")
            }
            return $false
        }
        $a = $null
        try { $a = $line | ConvertFrom-Json } catch { }
        if (-not $a) { continue }
        if ($a.ready) { $S.Ready = $true }
        else { Complete-Call $S $a }
        $S.Read = $S.Proc.StandardOutput.ReadLineAsync()
    }
    return $true
}

function Stop-Session($S, [string] $Why) {
    $S.Killed = $true
    if ($S.Busy) {
        $c = $S.Busy; $S.Busy = $null
        $c.t1 = Now; $c.lost = $true; $c.error = $Why
        if ($c.op -ne 'Observe') { $Calls.Add($c); Add-History $c }
    }
    try { $S.Proc.Kill($true) } catch { }
    $null = $S.Proc.WaitForExit(5000)
}

function Restart-Session($S) {
    $new = Start-Session $S.Slot
    $new.Backlog = $S.Backlog
    return $new
}

function Update-Sessions {
    Add-ClockAnchor
    for ($i = 0; $i -lt $Sessions.Count; $i++) {
        if (-not (Receive-Session $Sessions[$i])) {
            Stop-Session $Sessions[$i] 'session ended'
            $Sessions[$i] = Restart-Session $Sessions[$i]
        }
        $s = $Sessions[$i]
        if ($s.Ready -and -not $s.Busy -and $s.Backlog.Count -gt 0) { Send-Request $s $s.Backlog.Dequeue() }
    }
    if (-not (Receive-Session $Observer)) { Stop-Session $Observer 'observer ended'; $script:Observer = Start-Session -1 }
    # the observer answers at once: probes that must return during a freeze go through it first
    if ($Observer.Ready -and -not $Observer.Busy -and $Observer.Backlog.Count -gt 0) { Send-Request $Observer $Observer.Backlog.Dequeue() }
    elseif ($Observer.Ready -and -not $Observer.Busy -and (Now) - $Observer.LastObserve -ge 250) {
        $Observer.LastObserve = Now
        Send-Request $Observer (New-Call 'Observe' $null @{})
    }
}

# --- faults ---------------------------------------------------------------------------------------
$Frozen = [System.Collections.Generic.List[object]]::new()
$script:DaemonJob = $null

function Invoke-Fault($F) {
    $ids = @($Specs | ForEach-Object Id)
    $target = $ids[$F.Pick % $ids.Count]
    $rec = [ordered]@{ k = 'fault'; kind = $F.Kind; t = Now; t1 = $null; id = $null; pid = $null; detail = $null }
    switch ($F.Kind) {
        { $_ -in 'ShimKill', 'ShimFreeze', 'InitKill' } {
            $rec.id = $target
            $shims = @((Get-ShimTable $Socket)[$target] | Where-Object { $_ })
            # the shim serving the task is the one with a child (the init process)
            $init = $null; $shim = $null
            foreach ($p in $shims) { $c = @(Get-ChildPids $p) | Select-Object -First 1; if ($c) { $shim = $p; $init = $c } }
            if (-not $shim) { $shim = $shims | Select-Object -First 1 }
            if (-not $shim) { $rec.detail = 'no shim (container not running): nothing done'; break }
            if ($F.Kind -eq 'ShimKill') { $rec.pid = $shim; $null = Send-UnixSignal $shim 'KILL'; $rec.detail = 'kill -9 the shim' }
            elseif ($F.Kind -eq 'ShimFreeze') {
                $rec.pid = $shim
                if (Send-UnixSignal $shim 'STOP') { $Frozen.Add(@{ Pid = $shim; Until = (Now) + $F.Duration; Rec = $rec }); $rec.detail = "SIGSTOP the shim for $($F.Duration) ms" }
            } elseif ($init) { $rec.pid = $init; $null = Send-UnixSignal $init 'KILL'; $rec.detail = "kill -9 the init process from outside (shim $shim)" }
            else { $rec.detail = "shim $($shims -join ',') has no child (no init process): nothing done" }
        }
        'DaemonRestart' {
            # as testenv.sh restart (SIGTERM, SIGKILL after 10 s, start-daemon), without its scans of
            # /proc, which take minutes on a loaded machine: the daemon's pid is in its pid file
            if ($script:DaemonJob) { $rec.detail = 'a restart is already under way: nothing done'; break }
            $dpid = 0
            $null = [int]::TryParse("$(Get-Content -LiteralPath "$EnvDir/containerd.pid" -ErrorAction Ignore)".Trim(), [ref] $dpid)
            if (-not $dpid -or (Get-ProcCmdline $dpid) -notlike "*containerd --config $EnvDir/config.toml*") { $rec.detail = 'containerd is not running: nothing done'; break }
            $null = Send-UnixSignal $dpid 'TERM'
            $rec.pid = $dpid
            $rec.detail = 'containerd restarted (SIGTERM, then testenv.sh start-daemon; shims live on)'
            $script:DaemonJob = @{ Phase = 'stopping'; Pid = $dpid; Deadline = (Now) + 10000; Rec = $rec; Proc = $null }
            return   # recorded when it is back
        }
        { $_ -in 'WorkerKill', 'SupervisorKill' } {
            $slot = $F.Pick % $Sessions.Count
            if ($F.Kind -eq 'SupervisorKill' -and -not $HasSupervisor) { $rec.detail = "no Get-ContainerSupervisor in this module; kill -9 session $slot" }
            elseif ($F.Kind -eq 'SupervisorKill') {
                $holder = @($script:LastSupervisor | Where-Object { $_ }) | Select-Object -First 1
                $match = @(for ($i = 0; $i -lt $Sessions.Count; $i++) { if ($Sessions[$i].Pid -eq $holder) { $i } })
                if ($holder -and $holder -eq $Observer.Pid) {
                    $rec.pid = $holder; $rec.detail = 'kill -9 the observer, which holds the restart duty'
                    $null = Send-UnixSignal $holder 'KILL'
                    Stop-Session $Observer 'observer killed (fault)'
                    $script:Observer = Start-Session -1
                    break
                }
                if ($match) { $slot = $match[0]; $rec.detail = 'kill -9 the session holding the restart duty' } else { $rec.detail = "the duty holder ($holder) is no session; killing session $slot" }
            } elseif ($F.Kind -eq 'WorkerKill') { $rec.detail = "kill -9 session $slot" }
            $s = $Sessions[$slot]
            $rec.pid = $s.Pid
            $null = Send-UnixSignal $s.Pid 'KILL'
            Stop-Session $s "session killed (fault)"
            $Sessions[$slot] = Restart-Session $s
        }
        { $_ -in 'SupervisorFreeze', 'ForeignUser' } { Invoke-ExtendedFault $F $rec }
    }
    Add-History $rec
    $Faults.Add($rec)
}

function Update-Faults {
    foreach ($f in @($Frozen)) {
        if ((Now) -ge $f.Until) {
            $null = Send-UnixSignal $f.Pid 'CONT'
            $f.Rec.t1 = Now
            Add-History ([ordered]@{ k = 'fault-end'; kind = $f.Rec.kind; t = $f.Rec.t1; id = $f.Rec.id; pid = $f.Pid; detail = 'SIGCONT' })
            $null = $Frozen.Remove($f)
        }
    }
    $j = $script:DaemonJob
    if ($j -and $j.Phase -eq 'stopping') {
        $alive = (Test-Path "/proc/$($j.Pid)") -and -not ("$(Get-Content "/proc/$($j.Pid)/status" -ErrorAction Ignore)" -match 'State:\s*Z')
        if ($alive -and (Now) -gt $j.Deadline) { $null = Send-UnixSignal $j.Pid 'KILL'; $j.Rec.detail += '; SIGKILL after 10 s'; $j.Deadline = [long]::MaxValue }
        if (-not $alive) {
            $psi = [Diagnostics.ProcessStartInfo]::new('bash')
            foreach ($a in @($Fixture, 'start-daemon', $EnvDir)) { $psi.ArgumentList.Add($a) }
            $psi.UseShellExecute = $false; $psi.RedirectStandardOutput = $true; $psi.RedirectStandardError = $true
            $j.Proc = [Diagnostics.Process]::Start($psi)
            $j.Err = $j.Proc.StandardError.ReadToEndAsync(); $null = $j.Proc.StandardOutput.ReadToEndAsync()
            $j.Phase = 'starting'
            $j.Down = Now
        }
    } elseif ($j -and $j.Phase -eq 'starting' -and $j.Proc.HasExited) {
        if ($j.Proc.ExitCode -ne 0 -and -not $j.Retried) {
            # containerd may not come up while a shim it restores is frozen: try once more
            $j.Retried = $true
            $j.Rec.detail += "; start-daemon failed once: $("$($j.Err.Result)".Trim() -split "`n" | Select-Object -First 1)"
            $j.Phase = 'stopping'; $j.Pid = 0
            return
        }
        $script:DaemonJob = $null
        $j.Rec.t1 = Now
        $j.Rec.detail += "; down for $($j.Rec.t1 - $j.Down) ms"
        if ($j.Proc.ExitCode -ne 0) { $j.Rec.detail += "; start-daemon failed: $("$($j.Err.Result)".Trim())" }
        Add-History $j.Rec
        $Faults.Add($j.Rec)
        Update-AltSocket
    }
}

# --- checks ---------------------------------------------------------------------------------------
function Get-Runs {
    $runs = Read-RunLogs $RootFs $ClockAnchors
    Complete-RunEnds $runs $Exits
    return $runs
}

# The checks made every 3 s during the run, over a recent window only: over the whole history
# they grow with it (an hour's run spent 40 s per check, and the calls in flight looked that much
# slower). The final checks, after quiescence, cover the whole history; the policy rules are only
# judged there (a streak needs the runs from the last start on).
$LiveWindowMs = 300000
function Invoke-LiveChecks {
    $now = Now
    $since = $now - $LiveWindowMs
    $runs = Get-Runs
    # calls in flight count too (a start under way explains a run that began during it)
    $known = [System.Collections.Generic.List[object]]::new()
    foreach ($c in $Calls) { if ($c.t0 -ge $since -or ($c.t1 -and $c.t1 -ge $since)) { $known.Add($c) } }
    foreach ($s in $Sessions) { if ($s.Busy) { $known.Add($s.Busy) } }
    # a run started within a stop whose end is not known yet is judged after quiescence
    $decided = @{}
    foreach ($id in $runs.Keys) { $decided[$id] = @(foreach ($r in $runs[$id]) { if ($r -and ($r.end -or $r.start -lt $now - 30000) -and $r.start -ge $since) { $r } }) }
    $recentExits = @{}
    foreach ($id in @($Exits.Keys)) { $recentExits[$id] = @(foreach ($e in $Exits[$id]) { if ($e -and $e.at -ge $since) { $e } }) }
    Add-Violations (Test-StopInvariant $known $decided $now)
    Add-Violations (Test-ExitInvariant $runs $recentExits $Faults $Created $Calls)
    if ($Extended) { Add-Violations (Test-ExtendedInvariants $known $runs $recentExits $Faults) }
    foreach ($s in $Sessions) { if ($s.Busy) { Add-Violations (Test-CallBound $s.Busy $SpecById[$s.Busy.id] $now) } }
}

function Wait-Idle([int] $TimeoutMs) {
    $deadline = (Now) + $TimeoutMs
    while ((Now) -lt $deadline) {
        Update-Sessions; Update-Faults
        if (-not @($Sessions | Where-Object { $_.Busy -or $_.Backlog.Count -gt 0 -or -not $_.Ready }) -and -not $script:DaemonJob) { return $true }
        Start-Sleep -Milliseconds 20
    }
    return $false
}

# runs one call on session 0 and waits for its answer
function Invoke-Now([string] $Op, [string] $Id, $Arguments, [int] $TimeoutMs = 60000) {
    $c = New-Call $Op $Id $Arguments
    $Sessions[0].Backlog.Enqueue($c)
    $deadline = (Now) + $TimeoutMs
    while (-not $c.t1 -and (Now) -lt $deadline) { Update-Sessions; Update-Faults; Start-Sleep -Milliseconds 20 }
    return $c
}

function Get-Observation {
    $Observer.LastObserve = 0
    $before = $script:LastObservation
    $deadline = (Now) + 15000
    $script:LastObservation = $null
    while ($null -eq $script:LastObservation -and (Now) -lt $deadline) { Update-Sessions; Start-Sleep -Milliseconds 20 }
    if ($null -eq $script:LastObservation) { return $before }
    return $script:LastObservation
}

# containerd's tasks in the run's namespace, by container id
function Get-TaskTable {
    $t = @{}
    foreach ($l in @(& ctr --address $Socket -n $Namespace tasks ls 2>$null | Select-Object -Skip 1)) {
        $p = -split $l
        if ($p.Count -ge 3) { $t[$p[0]] = [pscustomobject]@{ Pid = [int] $p[1]; Status = $p[2] } }
    }
    return $t
}

function Invoke-FinalChecks {
    $now = Now
    # the restart duty: always/unless-stopped containers last started (not stopped) by hand run again
    $deadline = $now + 30000
    $pending = @($Specs | Where-Object { $_.Policy -in 'always', 'unless-stopped' -and (Get-LastDecision $Calls $_.Id) -eq 'start' } | ForEach-Object Id)
    $unchecked = @()
    $snap = @()
    while ($true) {
        $snap = @(Get-Observation)
        $notRunning = @($pending | Where-Object { $id = $_; -not ($snap | Where-Object { $_.Id -eq $id -and $_.Status -in 'Running', 'Paused' }) })
        if (-not $notRunning -or (Now) -ge $deadline) { break }
        Start-Sleep -Milliseconds 250
    }
    foreach ($id in $notRunning) {
        $x = $snap | Where-Object { $_.Id -eq $id }
        $due = if ($x) { ConvertTo-EpochMs $x.Due } else { $null }
        if ($due -and $due -gt $deadline - 5000) { $unchecked += $id; continue }   # its backoff outlasts the wait
        Add-Violations (New-Violation 'restart-duty' $id (Now) "policy $($SpecById[$id].Policy), last started by hand, not stopped by hand; not running 30 s after quiescence: status $($x.Status), state label $($x.State), restart due $($x.Due)")
    }

    # containerd's view: tasks, containers, shims. A create cut short by its caller (a session
    # killed mid-create) leaves a shim containerd no longer lists and takes up to two of its
    # 5-second cleanup timeouts to tear down: quiescence includes containerd's own cleanup, so the
    # shim rule waits (bounded) for shims without a task to go before it judges.
    $tasks = Get-TaskTable
    $shims = Get-ShimTable $Socket
    $shimDeadline = (Now) + 15000
    while ((Now) -lt $shimDeadline -and @($shims.Keys | Where-Object { -not $tasks.ContainsKey($_) -or @($shims[$_]).Count -gt 1 })) {
        Start-Sleep -Milliseconds 250
        $tasks = Get-TaskTable
        $shims = Get-ShimTable $Socket
    }
    $records = @{}; foreach ($x in $snap) { $records[$x.Id] = $x }
    foreach ($id in $tasks.Keys) {
        if (-not $records.ContainsKey($id)) { Add-Violations (New-Violation 'task-has-record' $id (Now) "containerd has a task ($($tasks[$id].Status), pid $($tasks[$id].Pid)) for '$id', which Get-Container does not list") }
    }
    foreach ($id in $shims.Keys) {
        if (-not $tasks.ContainsKey($id)) { Add-Violations (New-Violation 'shim-has-task' $id (Now) "shim pid $($shims[$id] -join ', ') serves '$id', which has no task") }
        elseif (@($shims[$id]).Count -gt 1) { Add-Violations (New-Violation 'shim-has-task' $id (Now) "$(@($shims[$id]).Count) shims (pids $($shims[$id] -join ', ')) serve '$id'; its task has pid $($tasks[$id].Pid)") }
    }
    foreach ($x in $snap) {
        $t = $tasks[$x.Id]
        $live = $t -and $t.Status -in 'RUNNING', 'PAUSED', 'PAUSING'
        $agree = switch ($x.State) {
            'running'    { $live }
            'stopped'    { -not $live }
            'restarting' { -not $live }
            default      { $true }
        }
        if (-not $agree) { Add-Violations (New-Violation 'labels-agree' $x.Id (Now) "label state=$($x.State) but containerd's task is $(if ($t) { $t.Status } else { 'absent' })") }
        if ($x.Intent) {
            $owner = $x.Intent.Split(';')[-1]
            if ($owner -and (Test-OwnerGone $owner)) { Add-Violations (New-Violation 'stop-intent-owner' $x.Id (Now) "stop intent '$($x.Intent)' left after Restore-ContainerState; its owner $owner is gone") }
        }
    }
    $runs = Get-Runs
    # the last run of a container whose task is gone ended at the latest now
    Add-Violations (Test-StopInvariant $Calls $runs (Now))
    Add-Violations (Test-ExitInvariant $runs $Exits $Faults $Created $Calls)
    $tally = @{ PolicyRestarts = 0 }
    Add-Violations (Test-PolicyInvariant $Calls $runs $Specs $MaxRestartCount $tally)
    if ($Extended) { Add-Violations (Test-ExtendedInvariants $Calls $runs $Exits $Faults) }
    return @{ Runs = $runs; Unchecked = $unchecked; PolicyRestarts = $tally.PolicyRestarts }
}

# --- the run --------------------------------------------------------------------------------------
$exitCode = 1
$summary = $null
$Phases = [ordered]@{}
$phaseStart = Now
function Complete-Phase([string] $Name) { $Phases[$Name] = [Math]::Round(((Now) - $script:phaseStart) / 1000, 1); $script:phaseStart = Now }
try {
    # wait for the sessions to be warm, then create every container from session 0
    # bounded, with room for a starved machine (a cold pwsh and a first containerd call can take a minute)
    $deadline = (Now) + 300000
    while (@(@($Sessions) + $Observer | Where-Object { -not $_.Ready }).Count -gt 0 -and (Now) -lt $deadline) { Update-Sessions; Start-Sleep -Milliseconds 20 }
    foreach ($c in $Specs) {
        $Sessions[0].Backlog.Enqueue((New-Call 'New' $c.Id ([ordered]@{ RootFs = $RootFs; Script = $ChaosProgram; Policy = $c.Policy; Life = $c.Life; Trap = $c.Trap; StopTimeout = $c.StopTimeout; Start = $true })))
    }
    if (-not (Wait-Idle 300000)) { throw 'the containers were not created within 300 s' }
    foreach ($ns in $Specs) {
        $c = $Calls | Where-Object { $_.op -eq 'New' -and $_.id -eq $ns.Id } | Select-Object -First 1
        if (-not $c.ok) { throw "New-Container $($ns.Id) failed: $($c.error)" }
    }

    Complete-Phase 'setup'
    $start = Now
    $opIndex = 0; $faultIndex = 0; $nextCheck = $start + 3000
    $planOps = $Plan.Ops; $planFaults = $Plan.Faults
    while ($true) {
        $el = (Now) - $start
        if ($el -ge $Seconds * 1000) { break }
        while ($opIndex -lt $planOps.Count -and $planOps[$opIndex].At -le $el) {
            $o = $planOps[$opIndex++]
            $args2 = [ordered]@{}; foreach ($k in $o.Args.Keys) { $args2[$k] = $o.Args[$k] }
            if ($o.Op -eq 'Restart' -and -not $HasRestart) { $o = [ordered]@{ Op = 'Start'; Id = $o.Id; Worker = $o.Worker }; $args2 = [ordered]@{} }
            if ($o.Op -in 'New', 'Recreate') { $spec = $SpecById[$o.Id]; foreach ($k in 'Policy', 'Life', 'Trap', 'StopTimeout') { $args2[$k] = $spec[$k] }; $args2.RootFs = $RootFs; $args2.Script = $ChaosProgram }
            if ($o.Op -eq 'Exec') { $o = Resolve-ExecTarget $o; $args2.Address = $Socket }
            if ($o.Op -eq 'Supervisors') { $args2.Paths = @($Socket, $AltSocket) }
            $Sessions[$o.Worker].Backlog.Enqueue((New-Call $o.Op $o.Id $args2))
        }
        while ($faultIndex -lt $planFaults.Count -and $planFaults[$faultIndex].At -le $el) { Invoke-Fault $planFaults[$faultIndex++] }
        # ask who holds the restart duty shortly before a fault that kills the holder
        if ($HasSupervisor -and $faultIndex -lt $planFaults.Count -and $planFaults[$faultIndex].Kind -in 'SupervisorKill', 'SupervisorFreeze' -and
            $script:SupervisorAskedFor -ne $faultIndex -and $planFaults[$faultIndex].At - $el -lt 2000) {
            $script:SupervisorAskedFor = $faultIndex
            $Sessions[($faultIndex + 1) % $Sessions.Count].Backlog.Enqueue((New-Call 'Supervisor' $null @{}))
        }
        Update-Sessions
        Update-Faults
        if ($Extended) { Update-FreezeProbes }
        if ($HasSupervisor) {
            $sup = $Calls | Where-Object { $_.op -eq 'Supervisor' -and $_.ok } | Select-Object -Last 1
            if ($sup) { $script:LastSupervisor = @($sup.result | ForEach-Object { $_.ProcessId }) }
        }
        if ((Now) -ge $nextCheck) {
            Invoke-LiveChecks
            $nextCheck = (Now) + 3000
            if ($Violations.Count -gt 0) { break }
        }
        Start-Sleep -Milliseconds 20
    }

    Complete-Phase 'run'
    # quiesce: no run ends by itself any more, faults end, pending calls return, restore
    $null = New-Item -ItemType File -Path "$RootFs/chaos/calm" -Force
    foreach ($f in @($Frozen)) { $f.Until = 0 }
    Update-Faults
    foreach ($s in $Sessions) { $s.Backlog.Clear() }
    $idleBound = 60000
    if (-not (Wait-Idle $idleBound)) {
        foreach ($s in $Sessions) { if ($s.Busy) { Add-Violations (Test-CallBound $s.Busy $SpecById[$s.Busy.id] (Now)) } }
        for ($i = 0; $i -lt $Sessions.Count; $i++) { if ($Sessions[$i].Busy) { Stop-Session $Sessions[$i] 'still busy at quiescence'; $Sessions[$i] = Restart-Session $Sessions[$i] } }
        $null = Wait-Idle 60000
    }
    $deadline = (Now) + 120000
    while ($script:DaemonJob -and (Now) -lt $deadline) { Update-Faults; Update-Sessions; Start-Sleep -Milliseconds 50 }
    & bash $Fixture status $EnvDir *> $null
    if ($LASTEXITCODE -ne 0) { & bash $Fixture start-daemon $EnvDir *> $null }
    & bash $Fixture status $EnvDir *> $null
    if ($LASTEXITCODE -ne 0) { throw "containerd did not come back at quiescence (see $EnvDir/containerd.log; -KeepEnv keeps it)" }
    $restore = Invoke-Now 'Restore' $null ([ordered]@{})
    if (-not $restore.t1) { Add-Violations (New-Violation 'call-bound' '' (Now) 'Restore-ContainerState did not return within 60 s at quiescence') }
    Complete-Phase 'quiesce'
    $final = Invoke-FinalChecks
    Complete-Phase 'final checks'

    $runCount = 0; foreach ($id in $final.Runs.Keys) { $runCount += @($final.Runs[$id]).Count }
    foreach ($id in $final.Runs.Keys) { foreach ($r in $final.Runs[$id]) { Add-History ([ordered]@{ k = 'run'; id = $id; run = $r.run; start = $r.start; end = $r.end; code = $r.code; term = $r.term }) } }
    $exitCount = 0; foreach ($id in $Exits.Keys) { $exitCount += $Exits[$id].Count }
    $summary = "chaos seed ${Seed}: $($Calls.Count) calls, $(@($Faults | Where-Object { $_.pid }).Count) faults ($($Faults.Count) planned), $runCount runs ($($final.PolicyRestarts) by restart policy), $exitCount exits checked, " +
        "$($Violations.Count) violation(s)$(Get-ExtendedFigures)$(if ($final.Unchecked) { "; restart duty not judged (backoff beyond the wait): $($final.Unchecked -join ', ')" })"
    $exitCode = if ($Violations.Count -gt 0) { 1 } else { 0 }
    $null = Invoke-Now 'Cleanup' $null ([ordered]@{}) 60000
} catch {
    $summary = "chaos seed ${Seed}: the harness failed: $($_.Exception.Message) ($($_.InvocationInfo.PositionMessage))"
    $exitCode = 2
} finally {
    foreach ($f in @($Frozen)) { $null = Send-UnixSignal $f.Pid 'CONT' }
    foreach ($s in @($Sessions) + $Observer) { if ($s) { try { $s.Proc.StandardInput.Close() } catch { } } }
    foreach ($s in @($Sessions) + $Observer) { if ($s -and -not $s.Proc.WaitForExit(5000)) { try { $s.Proc.Kill($true) } catch { } } }
    if ($script:DaemonJob -and $script:DaemonJob.Proc) { $null = $script:DaemonJob.Proc.WaitForExit(30000) }
    $saveKeep = $env:KEEP
    if ($KeepEnv) { $env:KEEP = '1' }
    & bash $Fixture stop $EnvDir *> $null
    $env:KEEP = $saveKeep
    Complete-Phase 'teardown'
    Add-History ([ordered]@{ k = 'phases'; seconds = $Phases })
    $HistoryWriter.Dispose()
}

Write-Host $summary
Write-Host ('phases (s): ' + (($Phases.Keys | ForEach-Object { "$_ $($Phases[$_])" }) -join ', '))
foreach ($v in $Violations) {
    Write-Host ''
    Write-Host "VIOLATION seed $Seed, invariant '$($v.invariant)', container '$($v.id)':" -ForegroundColor Red
    Write-Host "  $($v.detail)"
    Write-Host "  last events of '$($v.id)' (and faults) up to then:"
    $events = @($History | Where-Object {
        ($_.k -in 'call', 'fault', 'fault-end' -and ($_.id -eq $v.id -or $_.k -ne 'call' -or ($_.op -eq 'Restore' -and -not $_.id))) -and
        $(if ($_.t0) { $_.t0 } else { $_.t }) -le $v.t + 2000 })
    foreach ($e in ($events | Select-Object -Last 12)) {
        $line = if ($e.k -eq 'call') {
            $res = @($e.result | ForEach-Object { if ($_.Outcome) { "$($_.Outcome) exit $($_.ExitCode)" } elseif ($_.Status) { "$($_.Status)" } elseif ($_.Action) { "$($_.Id):$($_.Action)" } elseif ($null -ne $_.ExitCode) { "exit $($_.ExitCode)" } }) -join ','
            '{0} .. {1}  #{2} session {3} {4} {5} {6} -> {7}{8}' -f $e.t0, $e.t1, $e.n, $e.slot, $e.op, $e.id, (($e.args.Keys | Where-Object { $_ -notin 'Script', 'RootFs' } | ForEach-Object { "$_=$($e.args[$_])" }) -join ' '),
                $(if ($e.lost) { 'LOST' } elseif ($e.ok) { 'ok' } else { "error $($e.errorId)" }), $(if ($res) { " $res" })
        } else { '{0}{1}  {2} {3} {4} pid {5}: {6}' -f $e.t, $(if ($e.t1) { " .. $($e.t1)" }), $e.k, $e.kind, $e.id, $e.pid, $e.detail }
        Write-Host "    $line"
    }
}
Write-Host "history: $HistoryPath (replay: build.ps1 -Task Chaos -Seed $Seed -Minutes <m>)"
exit $exitCode
