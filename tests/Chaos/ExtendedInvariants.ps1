# The rules of the extended plan's operations and faults (docs/chaos.md), as functions of the
# history, like those of Invariants.ps1 (which this file needs: New-Violation, Group-CallsById,
# Test-StartCall).

# An exec exits with one of these; no run's program does (10 + RUN % 100, or 137 / 143).
$script:ExecCodes = 120..126

# exec-exit-not-recorded: an exec's exit is never recorded as the container's exit. Any exit
# recorded with an exec's code (by the observer, a stop or a wait) is one.
function Test-ExecExitInvariant($Calls, $Exits) {
    foreach ($id in @($Exits.Keys)) {
        foreach ($e in @($Exits[$id])) {
            if ($null -eq $e -or $script:ExecCodes -notcontains [int] $e.code) { continue }
            $by = $null
            foreach ($c in $Calls) { if ($c.op -eq 'Exec' -and $c.id -eq $id -and [int] $c.args.Code -eq $e.code -and $c.t0 -le $e.at + 1000) { $by = $c } }
            $what = if ($by) { "the code of exec #$($by.n) ($(if ($by.args.Via -eq 'ctr') { "ctr, exec id '$id'" } else { 'Invoke-ContainerCommand' }), began $($by.t0))" } else { 'an exec''s code' }
            New-Violation 'exec-exit-not-recorded' $id $e.at "exit $($e.code) recorded for the container (seen in $($e.src), ExitedAt $($e.at)): $what, not an exit of its init"
        }
    }
}

# recreated-not-restarted: after a Recreate (Remove-Container -Force, then New-Container without
# -Start) the new container runs only once a start of it is called: the first run that began after
# the remove returned, before the id was removed or created again, needs a start call (New -Start,
# Start, Restart) that began before it and had not ended before the remove returned.
function Test-RecreateInvariant($Calls, $Runs) {
    $callsOf = Group-CallsById $Calls
    foreach ($id in @($callsOf.Keys)) {
        $list = @($callsOf[$id] | Sort-Object { $_.t0 })
        for ($i = 0; $i -lt $list.Count; $i++) {
            $rc = $list[$i]
            if ($rc.op -ne 'Recreate' -or -not $rc.ok) { continue }
            $res = @($rc.result)[0]
            if (-not $res -or -not $res.RemovedAt -or $rc.args.Start) { continue }
            $removed = [long] $res.RemovedAt
            $until = [long]::MaxValue
            for ($j = $i + 1; $j -lt $list.Count; $j++) { if ($list[$j].op -in 'Remove', 'Recreate', 'New') { $until = $list[$j].t0; break } }
            $run = $null
            foreach ($r in @($Runs[$id])) { if ($r -and $r.start -gt $removed + 50 -and $r.start -lt $until) { $run = $r; break } }
            if (-not $run) { continue }
            $explained = $false
            foreach ($c in $list) { if ((Test-StartCall $c) -and $c.t0 -le $run.start + 50 -and ($null -eq $c.t1 -or $c.t1 -ge $removed)) { $explained = $true; break } }
            if ($explained) { continue }
            New-Violation 'recreated-not-restarted' $id $run.start ("Recreate #$($rc.n) removed '$id' at $removed and created it again without starting it; run $($run.run) " +
                "started at $($run.start) ($($run.start - $removed) ms later) with no start called: a restart of the removed container started the new one")
        }
    }
}

# one-supervisor: Get-ContainerSupervisor through the socket's path, through its second path and
# through the first again (one call): when both reads of the first path name the same holder, the
# second path names it too, or two processes hold the duty for one socket. Not judged when the two
# paths did not name one socket throughout (containerd restarted and the link not yet made again).
function Test-TwoPathInvariant($Calls) {
    foreach ($c in $Calls) {
        if ($c.op -ne 'Supervisors' -or -not $c.ok) { continue }
        $r = @($c.result)[0]
        if (-not $r -or -not $r.PathA -or -not $r.PathB -or $r.PathA -ne $r.PathA2 -or $r.PathA -eq $r.PathB) { continue }
        if ($r.SameSocket -eq $false) { continue } # the second path named another (a dead) socket meanwhile
        New-Violation 'one-supervisor' '' $c.t0 "call #$($c.n): pid $($r.PathA) holds the restart duty through the socket's path and pid $($r.PathB) through its second path (a hard link): two supervisors for one socket"
    }
}

# frozen-holder: a holder stopped by SIGSTOP keeps the duty (docs/supervisor.md, Bounds) but shows
# Responding = $false within 5 s of its last heartbeat, and responds again once resumed. Judged
# from the probes the harness makes: one asked at least 6 s into the freeze that returned before
# the SIGCONT, and one asked at least 2.5 s after it.
function Test-FreezeInvariant($Calls, $Faults) {
    $freezes = @{}
    foreach ($f in $Faults) { if ($f.kind -eq 'SupervisorFreeze' -and $f.pid) { $freezes["$($f.t)"] = $f } }
    foreach ($c in $Calls) {
        if ($c.op -ne 'Supervisor' -or -not $c.ok -or -not $c.args.Probe) { continue }
        $f = $freezes["$($c.args.Fault)"]
        if (-not $f) { continue }
        $held = @($c.result | Where-Object { $_ -and $_.ProcessId -eq $f.pid })
        if (-not $held) { continue }
        $into = $c.t0 - $f.t
        if ($c.args.Probe -eq 'frozen' -and $into -ge 6000 -and $c.t1 -and ($null -eq $f.t1 -or $c.t1 -le $f.t1) -and $held[0].Responding -ne $false) {
            New-Violation 'frozen-holder' '' $c.t0 "call #$($c.n), $into ms into the SIGSTOP of the holder pid $($f.pid): Get-ContainerSupervisor shows it with Responding = $($held[0].Responding), not False"
        }
        if ($c.args.Probe -eq 'thawed' -and $f.t1 -and $c.t0 -ge $f.t1 + 2500 -and $held[0].Responding -eq $false) {
            New-Violation 'frozen-holder' '' $c.t0 "call #$($c.n), $($c.t0 - $f.t1) ms after the SIGCONT of the holder pid $($f.pid): Get-ContainerSupervisor still shows it not responding"
        }
    }
}

# foreign-user-denied: a local user without the socket's access gains nothing in the lock folder:
# no file made, no link planted, the duty's lock file neither opened nor locked.
function Test-ForeignUserInvariant($Faults) {
    foreach ($f in $Faults) {
        if ($f.kind -ne 'ForeignUser' -or -not @($f.gained | Where-Object { $_ })) { continue }
        New-Violation 'foreign-user-denied' '' $f.t "nobody, without access to the socket, could: $(@($f.gained) -join ', ') ($($f.detail))"
    }
}

function Test-ExtendedInvariants($Calls, $Runs, $Exits, $Faults) {
    Test-ExecExitInvariant $Calls $Exits
    Test-RecreateInvariant $Calls $Runs
    Test-TwoPathInvariant $Calls
    Test-FreezeInvariant $Calls $Faults
    Test-ForeignUserInvariant $Faults
}
