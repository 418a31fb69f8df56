# The rules a chaos run checks, as functions of its history. Each returns violations:
# @{ Invariant; Id; At (epoch ms); Detail }. They read:
#   $Calls  every call: n, slot, pid, op, id, args, t0, t1 (epoch ms; t1 is the kill time of a
#           call whose session was killed: lost = $true), ok, result[], errorId, error
#   $Faults every fault: kind, t, t1 (end of a freeze or of a containerd restart), id
#   $Runs   id -> runs from the containers' own logs: run, start, exit (ms or $null), code, end
#   $Exits  id -> exits as the module recorded them: code, at (ExitedAt), src

$script:StartOps = @('New', 'Start', 'Restart')
$script:BoundSlack = 30

function ConvertTo-EpochMs($Utc) {
    if (-not $Utc) { return $null }
    # ConvertFrom-Json has already made a DateTime of an ISO 8601 string: parsing that again would
    # go through its default string form, which drops the fraction of a second (an exit 0.8 s into
    # a second was then taken for one before a run that began 0.2 s into it).
    $t = if ($Utc -is [datetime]) { $Utc } else { [datetime]::Parse([string] $Utc, [cultureinfo]::InvariantCulture, 'RoundtripKind') }
    return ([DateTimeOffset] $t.ToUniversalTime()).ToUnixTimeMilliseconds()
}

function New-Violation([string] $Invariant, [string] $Id, [long] $At, [string] $Detail) {
    [ordered]@{ k = 'violation'; invariant = $Invariant; id = $Id; t = $At; detail = $Detail }
}

# The containers log /proc/uptime; the harness pairs it with wall time now and then: clock anchors
# (uptime s, epoch ms), in order. The wall clock can be stepped or slewed while uptime runs on (a
# step of ~1.07 s 20 minutes into a run was seen, which put runs' starts before the calls that made
# them), so each logged time is converted with the anchor taken closest before it, never with one
# boot time.
function ConvertFrom-Uptime($Anchors, [double] $Uptime) {
    $lo = 0; $hi = $Anchors.Count - 1; $best = 0
    while ($lo -le $hi) {
        $mid = [int] [math]::Floor(($lo + $hi) / 2)
        if ($Anchors[$mid][0] -le $Uptime) { $best = $mid; $lo = $mid + 1 } else { $hi = $mid - 1 }
    }
    $a = $Anchors[$best]
    return [long] ($a[1] + ($Uptime - $a[0]) * 1000)
}

# id -> list of runs, read from ROOTFS/chaos/ID.log; uptime seconds -> epoch ms through $Anchors
function Read-RunLogs([string] $RootFs, $Anchors) {
    $runs = @{}
    $dir = Join-Path $RootFs 'chaos'
    if (-not (Test-Path -LiteralPath $dir)) { return $runs }
    foreach ($f in Get-ChildItem -LiteralPath $dir -Filter '*.log' -File) {
        $id = [IO.Path]::GetFileNameWithoutExtension($f.Name)
        $byRun = [ordered]@{}
        foreach ($line in [IO.File]::ReadAllLines($f.FullName)) {
            $p = $line.Split(' ')
            if ($p[0] -eq 'start' -and $p.Count -ge 3) {
                $byRun[$p[1]] = [ordered]@{ run = [int] $p[1]; start = (ConvertFrom-Uptime $Anchors ([double] $p[2])); exit = $null; code = $null; term = $false; end = $null }
            } elseif ($p[0] -eq 'exit' -and $p.Count -ge 4 -and $byRun.Contains($p[1])) {
                $r = $byRun[$p[1]]
                $r.exit = (ConvertFrom-Uptime $Anchors ([double] $p[3])); $r.code = [int] $p[2]; $r.term = ($p.Count -ge 5)
            }
        }
        $runs[$id] = @($byRun.Values | Sort-Object { $_.start })
    }
    return $runs
}

# Completes each run's end: its own exit line, else the first recorded exit after its start, else
# the next run's start; $null while it may still run.
# (Loops, not pipelines: these run over the whole history at every check, and a Where-Object per
# run or per exit made an hour's final checks take minutes.)
function Complete-RunEnds($Runs, $Exits) {
    foreach ($id in @($Runs.Keys)) {
        $list = $Runs[$id]
        $sorted = @(@($Exits[$id]) | Where-Object { $_ } | Sort-Object { $_.at })
        for ($i = 0; $i -lt $list.Count; $i++) {
            $r = $list[$i]
            $next = if ($i + 1 -lt $list.Count) { $list[$i + 1].start } else { $null }
            # the earliest exit recorded from the run's start on, if it came before the next run
            $rec = $null
            foreach ($e in $sorted) {
                if ($e.at -ge $r.start - 20) { if ($null -eq $next -or $e.at -le $next) { $rec = $e }; break }
            }
            $r.end = if ($r.exit) { $r.exit } elseif ($rec) { $rec.at } else { $next }
        }
    }
}

# id -> that container's calls (or, with -StartsOnly, its start calls), in the order they were made
function Group-CallsById($Calls, [switch] $StartsOnly) {
    $of = @{}
    foreach ($c in $Calls) {
        if (-not $c.id -or ($StartsOnly -and -not (Test-StartCall $c))) { continue }
        if (-not $of.ContainsKey($c.id)) { $of[$c.id] = [System.Collections.Generic.List[object]]::new() }
        $of[$c.id].Add($c)
    }
    return $of
}

# "start" when a container's last decisive call started it; "stop" when it was stopped, killed or
# removed by hand; "unknown" when that call failed. (Calls are ordered dictionaries: Sort-Object
# takes a script block, as a property name does not reach a key and scrambles the order.)
function Get-LastDecision($Calls, [string] $Id) {
    $last = $null
    foreach ($c in ($Calls | Where-Object { $_.id -eq $Id } | Sort-Object { $_.t0 })) {
        if ($c.op -eq 'Stop') { $last = 'stop' }
        elseif ($c.op -eq 'Signal' -and $c.args.Signal -in 'SIGKILL', 'SIGTERM') { $last = if ($c.ok) { 'stop' } elseif ($c.lost) { 'unknown' } else { $last } }
        elseif ($c.op -in 'Remove', 'Recreate') { $last = if ($c.ok) { 'removed' } else { 'unknown' } }
        elseif (Test-StartCall $c) {
            $last = if ($c.ok) { 'start' } elseif ($c.errorId -like 'AlreadyExists*' -or $c.errorId -like 'ContainerExists*') { $last } else { 'unknown' }
        }
    }
    return $last
}

# A call that starts its container: New -Start, Start, Restart
function Test-StartCall($Call) {
    ($script:StartOps -contains $Call.op) -and ($Call.op -ne 'New' -or $Call.args.Start)
}

# A container whose stop returned Stopped or RestartCancelled is not running afterwards until a
# start of it is called: no run of it is alive after the stop returned, unless a start call
# (New -Start, Start, Restart; by any session) began before that run and did not end before the stop began.
function Test-StopInvariant($Calls, $Runs, [long] $Now) {
    # the start calls of each container, gathered once (per stop, a filter over every call made
    # the check grow with the square of the history)
    $startsOf = Group-CallsById $Calls -StartsOnly
    foreach ($s in $Calls) {
        if ($s.op -ne 'Stop' -or -not $s.t1 -or $s.lost) { continue }
        $outcome = $null
        foreach ($x in @($s.result)) { $outcome = $x.Outcome; break }
        if ($outcome -notin 'Stopped', 'RestartCancelled') { continue }
        # A run is allowed when a start call that had not ended before the stop began began before
        # it: the earliest such call decides for every run (one pass per stop, not one per run).
        $firstStart = $null
        if ($startsOf.ContainsKey($s.id)) {
            foreach ($c in $startsOf[$s.id]) {
                if (($null -eq $c.t1 -or $c.t1 -gt $s.t0) -and ($null -eq $firstStart -or $c.t0 -lt $firstStart)) { $firstStart = $c.t0 }
            }
        }
        foreach ($r in @($Runs[$s.id])) {
            if (-not $r) { continue }
            $alive = ($r.start -gt $s.t1) -or ($r.start -gt $s.t0 -and ($null -eq $r.end -or $r.end -gt $s.t1 + 300))
            if (-not $alive) { continue }
            if ($null -eq $firstStart -or $firstStart -ge $r.start + 50) {
                New-Violation 'stopped-stays-stopped' $s.id $r.start ("stop #$($s.n) returned $outcome at +$($s.t1 - $s.t0) ms (ended $($s.t1)); run $($r.run) started at $($r.start) " +
                    "($($r.start - $s.t1) ms after the stop returned) and ended at $(if ($r.end) { $r.end } else { 'never (still running)' }), with no start called in between")
            }
        }
    }
}

# Every recorded exit carries the true status of the run it ended: the code the run logged (or 137
# when SIGKILL beat its exit), 137 for a run that logged no exit (SIGKILL), or 255 only when
# containerd lost it (its shim was killed or frozen, or containerd restarted, during the run).
# An exit after the last run had ended, of a task seen `Created` in between (created, never
# started: a New -Start whose session was killed between the two, then stopped), ended no run: its
# init was runc's, killed before the program ran, so its status is runc's and no run's code.
function Test-ExitInvariant($Runs, $Exits, $Faults, $Created = @{}, $Calls = @()) {
    $startsOf = $null
    foreach ($id in @($Exits.Keys)) {
        $list = @($Runs[$id])
        foreach ($e in @($Exits[$id])) {
            if ($null -eq $e -or $null -eq $e.code) { continue }
            $r = $null
            foreach ($x in $list) { if ($x -and $x.start -le $e.at + 20) { $r = $x } }
            if (-not $r) { continue }
            if ($r.end -and $e.at -gt $r.end + 1000 -and @($Created[$id] | Where-Object { $_ -ge $r.end -and $_ -le $e.at + 20 }).Count -gt 0) { continue }
            # A run's program exits 10 + RUN % 100 (or dies by a signal: 137, 143); a code below 10
            # after the run ended is that of a task whose program never ran (runc's init killed
            # between task create and start or before its exec, or a task containerd held and a
            # start deleted). After the run's own logged exit that is plain; after a run that died
            # by a signal (no exit logged, its end the exit recorded for it), only when a start
            # call began since.
            if ($e.code -lt 10 -and $r.exit -and $e.at -gt $r.exit + 200) { continue }
            if ($e.code -lt 10 -and -not $r.exit -and $r.end -and $e.at -gt $r.end + 200) {
                $since = $r.end
                if ($null -eq $startsOf) { $startsOf = Group-CallsById $Calls -StartsOnly }
                if (@($startsOf[$id] | Where-Object { $_ -and $_.t0 -ge $since -and $_.t0 -le $e.at }).Count -gt 0) { continue }
            }
            $allowed = if ($null -ne $r.code) { @($r.code, 137) } else { @(137) }
            if ($allowed -contains $e.code) { continue }
            if ($e.code -eq 255) {
                $until = $e.at + 2000
                $lost = @($Faults | Where-Object {
                    $end = if ($_.t1) { $_.t1 } else { $_.t }
                    (($_.kind -in 'ShimKill', 'ShimFreeze' -and $_.id -eq $id) -or $_.kind -eq 'DaemonRestart') -and $end -ge $r.start -and $_.t -le $until })
                if ($lost.Count -gt 0) { continue }
            }
            New-Violation 'true-exit-code' $id $e.at ("exit recorded as $($e.code) (seen in $($e.src), ExitedAt $($e.at)) for run $($r.run) (started $($r.start)); " +
                "the run $(if ($null -ne $r.code) { "logged exit $($r.code) at $($r.exit)" } else { 'logged no exit (SIGKILL: 137)' })")
        }
    }
}

# Restart policies, judged from the runs: a run not explained by a start call is a policy restart.
# `no` never restarts; on-failure:N restarts at most N times in a row; nothing restarts after a
# manual SIGKILL/SIGTERM (Send-ContainerSignal) until a start; the restart count recorded never
# exceeds the policy restarts seen (at most one restart per exit). $Tally, when given, gets
# PolicyRestarts: how many runs the rule took for restarts by policy (a figure of the run).
function Test-PolicyInvariant($Calls, $Runs, $Specs, $MaxRestartCount, $Tally = $null) {
    $callsOf = Group-CallsById $Calls
    foreach ($spec in $Specs) {
        $id = $spec.Id
        $list = @($Runs[$id] | Where-Object { $_ })
        $own = @($callsOf[$id] | Where-Object { $_ })
        # in the order the calls were made: a container's start calls and every Restore that covered it
        $starts = @(foreach ($c in $Calls) { if (($c.id -eq $id -and (Test-StartCall $c)) -or ($c.op -eq 'Restore' -and (-not $c.id -or $c.id -eq $id))) { $c } })
        $resumes = @(foreach ($c in $own) { if ($c.op -eq 'Resume' -and $c.ok -and $c.t1) { $c } })
        $signals = @(foreach ($c in $own) { if ($c.op -eq 'Signal' -and $c.ok -and $c.args.Signal -in 'SIGKILL', 'SIGTERM' -and $c.t1) { $c } })
        $streak = 0
        $maxStreak = 0
        $lastExplained = 0
        $previousStart = 0
        foreach ($r in $list) {
            $explained = $false
            foreach ($c in $starts) { if ($c.t0 -le $r.start + 50 -and ($null -eq $c.t1 -or $r.start -le $c.t1 + 1000)) { $explained = $true; break } }
            $resumed = $false
            if (-not $explained) { foreach ($c in $resumes) { if ($c.t0 -le $r.start + 50 -and $r.start -le $c.t1 + 1000) { $resumed = $true; break } } }
            if ($resumed) {
                # A task started while a Suspend froze it: its program logs its start only when
                # resumed. It is the run of a start call made since the run before it began.
                foreach ($c in $starts) { if ($c.t0 -gt $previousStart -and $c.t0 -le $r.start) { $explained = $true; break } }
            }
            $previousStart = $r.start
            if ($explained) { $streak = 0; $lastExplained = $r.start; continue }
            if ($r.run -eq 1) { continue }   # the first run comes from the setup's New -Start
            if ($null -ne $Tally) { $Tally.PolicyRestarts = 1 + [int] $Tally.PolicyRestarts }
            $streak++
            if ($streak -gt $maxStreak) { $maxStreak = $streak }
            if ($spec.Policy -eq 'no') {
                New-Violation 'restart-policy' $id $r.start "policy 'no', yet run $($r.run) started at $($r.start) with no start called"
            }
            if ($spec.Policy -match '^on-failure:(\d+)$' -and $streak -gt [int] $Matches[1]) {
                New-Violation 'restart-policy' $id $r.start "policy $($spec.Policy), yet run $($r.run) is policy restart number $streak since the last start"
            }
            $kill = @(foreach ($c in $signals) { if ($c.t1 -lt $r.start - 50 -and $c.t0 -gt $lastExplained) { $c } })
            if ($kill.Count -gt 0) {
                New-Violation 'restart-policy' $id $r.start "run $($r.run) restarted by policy at $($r.start) after a manual $($kill[0].args.Signal) (call #$($kill[0].n), returned $($kill[0].t1))"
            }
        }
        $mrc = $MaxRestartCount[$id]
        if ($spec.Policy -match '^on-failure:(\d+)$' -and $null -ne $mrc -and $mrc.Count -gt [int] $Matches[1]) {
            New-Violation 'restart-policy' $id $mrc.At "policy $($spec.Policy), yet a restart count of $($mrc.Count) was recorded (seen at $($mrc.At))"
        }
    }
}

# Every call returns within its documented bound (docs/chaos.md lists them).
function Get-CallBound($Call, $Spec) {
    # the documented worst case, plus $script:BoundSlack seconds for a loaded machine
    $s = switch ($Call.op) {
        'Stop'    { [int] $Call.args.Timeout + 5 + 2 + 12 }
        'Restart' { [int] $Call.args.Timeout + 5 + 2 + 12 + 10 }
        'Remove'  { $(if ($Spec) { $Spec.StopTimeout } else { 10 }) + 5 + 2 + 12 }
        'Recreate' { $(if ($Spec) { $Spec.StopTimeout } else { 10 }) + 5 + 2 + 12 + 10 }
        'Wait'    { [int] $Call.args.Timeout + 2 }
        'Restore' { 30 }
        default   { 10 }
    }
    return ($s + $script:BoundSlack * (Get-LoadFactor)) * 1000
}

# How much slower than usual the machine is: the 1-minute load average per two runnable threads
# a core, at least 1. The slack of the bounds grows with it; a call that hangs still fails.
function Get-LoadFactor {
    try { $load = [double] ([IO.File]::ReadAllText('/proc/loadavg').Split(' ')[0]) } catch { return 1 }
    return [Math]::Max(1, $load / (2 * [Environment]::ProcessorCount))
}

function Test-CallBound($Call, $Spec, [long] $Now) {
    if ($Call.lost) { return }
    $bound = Get-CallBound $Call $Spec
    $took = $(if ($Call.t1) { $Call.t1 } else { $Now }) - $Call.t0
    if ($took -gt $bound) {
        New-Violation 'call-bound' $Call.id $Call.t0 "call #$($Call.n) $($Call.op) $($Call.id) $(if ($Call.t1) { 'took' } else { 'has run for' }) $took ms; its bound is $bound ms"
    }
}
