# The schedule of a chaos run, derived from its seed alone: the containers (policy, life, whether
# PID 1 handles SIGTERM), the operations (when, which session, what) and the faults (when, what).
# The same seed gives the same plan; the targets of faults that need a live process (a shim, an
# init) are picked at fault time from the plan's number, so timing decides only what is alive.

# The container's program. Each run increments a counter kept in the (shared, writable) root
# filesystem and logs "start RUN UPTIME"; a run that ends by itself (its life is over, or SIGTERM
# when it traps it) logs "exit RUN CODE UPTIME" and exits with 10 + RUN % 100, so an exit code
# tells which run it was. A run killed by SIGKILL logs nothing: its true status is 137. While the
# file /chaos/calm exists no run ends by itself (the harness creates it to quiesce).
$script:ChaosProgram = @'
d=/chaos; f=$d/$CHAOS_ID; mkdir -p $d
n=$(( $(cat $f.runs 2>/dev/null || echo 0) + 1 )); echo $n > $f.runs
c=$(( 10 + n % 100 ))
up() { read u r < /proc/uptime; echo $u; }
echo "start $n $(up)" >> $f.log
if [ "$CHAOS_TRAP" = 1 ]; then trap 'echo "exit $n $c $(up) term" >> $f.log; exit $c' TERM; fi
while :; do sleep $CHAOS_LIFE & wait $!; [ -e $d/calm ] || break; done
echo "exit $n $c $(up)" >> $f.log
exit $c
'@

function New-ChaosPlan {
    param(
        [Parameter(Mandatory)] [int] $Seed,
        [Parameter(Mandatory)] [int] $Seconds,
        [Parameter(Mandatory)] [int] $Size,
        [int] $Workers = 3,
        # the operations and faults added later (Add-ExtendedPlan); a seed of seeds.txt replays
        # without them unless its line says `extended`
        [switch] $Extended
    )
    # The plan depends on the seed alone, not on the module's cmdlets, so a seed replays the same
    # schedule on every version: a Restart is run as a Start, and a kill of the supervisor as a
    # kill of a session, when the module has no Restart-Container / Get-ContainerSupervisor.
    # System.Random with a seed is the same sequence on every .NET (the seeded legacy algorithm)
    $rng = [System.Random]::new($Seed)
    $policies = @('no', 'always', 'unless-stopped', 'on-failure:1', 'on-failure:2', 'on-failure:3', 'always')
    $containers = for ($i = 0; $i -lt $Size; $i++) {
        $life = if ($rng.Next(4) -eq 0) { 600 } else { 2 + $rng.Next(9) }
        [ordered]@{
            Id          = "cx$i"
            Policy      = $policies[$rng.Next($policies.Count)]
            Trap        = [int] ($rng.Next(10) -lt 7)   # 3 in 10 ignore SIGTERM (PID 1 without a handler)
            Life        = $life
            StopTimeout = 1 + $rng.Next(3)
        }
    }

    # operations: weights per kind
    $kinds = @(
        @('Stop', 20), @('Start', 16), @('Restart', 6), @('Signal', 8), @('Suspend', 4), @('Resume', 5),
        @('Wait', 6), @('Restore', 3), @('Remove', 2), @('New', 3), @('Get', 4)
    )
    $total = ($kinds | ForEach-Object { $_[1] } | Measure-Object -Sum).Sum
    $ops = [System.Collections.Generic.List[object]]::new()
    $t = 1500
    $end = $Seconds * 1000
    while ($t -lt $end) {
        $t += 150 + $rng.Next(500)
        $pick = $rng.Next($total); $kind = $null
        foreach ($k in $kinds) { if ($pick -lt $k[1]) { $kind = $k[0]; break }; $pick -= $k[1] }
        $c = $containers[$rng.Next($Size)]
        $a = [ordered]@{}
        switch ($kind) {
            'Stop'    { $a.Timeout = @(0, 1, 2, 3)[$rng.Next(4)] }
            'Restart' { $a.Timeout = 1 + $rng.Next(2) }
            'Signal'  { $a.Signal = @('SIGKILL', 'SIGKILL', 'SIGTERM', 'SIGTERM', 'SIGUSR1')[$rng.Next(5)] }
            'Wait'    { $a.Condition = @('NotRunning', 'NextExit')[$rng.Next(2)]; $a.Timeout = 1 + $rng.Next(3) }
            'Remove'  { $a.Force = $true }
            'New'     { $a.Start = $true }
        }
        $ops.Add([ordered]@{ At = $t; Worker = $rng.Next($Workers); Op = $kind; Id = $(if ($kind -eq 'Restore' -and $rng.Next(2) -eq 0) { $null } else { $c.Id }); Args = $a })
    }

    $faultKinds = @('ShimKill', 'ShimFreeze', 'DaemonRestart', 'WorkerKill', 'InitKill', 'InitKill', 'SupervisorKill')
    $faults = [System.Collections.Generic.List[object]]::new()
    $t = 2500
    while ($true) {
        $t += 2500 + $rng.Next(4000)
        if ($t -ge $end - 1000) { break }
        $faults.Add([ordered]@{
            At       = $t
            Kind     = $faultKinds[$rng.Next($faultKinds.Count)]
            Pick     = $rng.Next(1000)          # which container / session, modulo what exists
            Duration = 500 + $rng.Next(3500)    # a frozen shim's time in SIGSTOP
        })
    }
    $plan = [ordered]@{ Seed = $Seed; Seconds = $Seconds; Size = $Size; Containers = @($containers); Ops = $ops.ToArray(); Faults = $faults.ToArray() }
    if ($Extended) { Add-ExtendedPlan $plan $Workers }
    $plan
}

# The extended plan: execs (through Invoke-ContainerCommand, and through ctr with the container's
# id as exec id), Recreate (Remove-Container -Force and New-Container of the same id in one call),
# Supervisors (Get-ContainerSupervisor through both paths to the socket), and the faults
# SupervisorFreeze and ForeignUser. They come from a second generator seeded from the seed, and
# are merged into the base plan by time: the base plan of a seed stays as it was, draw for draw.
function Add-ExtendedPlan($Plan, [int] $Workers) {
    $rng = [System.Random]::new([int] (([long] $Plan.Seed * 31 + 7) % [int]::MaxValue))
    $size = $Plan.Size
    $end = $Plan.Seconds * 1000
    $extra = [System.Collections.Generic.List[object]]::new()
    $t = 2000
    while ($true) {
        $t += 1000 + $rng.Next(2500)
        if ($t -ge $end) { break }
        $pick = $rng.Next(10)
        $id = 'cx' + $rng.Next($size)
        $w = $rng.Next($Workers)
        # exec codes 120..126: no run's program exits with them (10 + RUN % 100, 137, 143)
        if ($pick -lt 6) { $extra.Add([ordered]@{ At = $t; Worker = $w; Op = 'Exec'; Id = $id; Args = [ordered]@{ Via = @('ctr', 'ctr', 'cmdlet')[$rng.Next(3)]; Code = 120 + $rng.Next(7); Pick = $rng.Next(1000) } }) }
        elseif ($pick -lt 8) { $extra.Add([ordered]@{ At = $t; Worker = $w; Op = 'Recreate'; Id = $id; Args = [ordered]@{ Start = $false } }) }
        else { $extra.Add([ordered]@{ At = $t; Worker = $w; Op = 'Supervisors'; Id = $null; Args = [ordered]@{} }) }
    }
    $faults = [System.Collections.Generic.List[object]]::new()
    $t = 4000
    while ($true) {
        $t += 7000 + $rng.Next(8000)
        if ($t -ge $end - 1000) { break }
        # a freeze long enough for the holder to show as not responding (5 s without a heartbeat) and
        # for a probe, asked 6 s in, to return before the SIGCONT on a loaded machine
        $faults.Add([ordered]@{ At = $t; Kind = @('SupervisorFreeze', 'SupervisorFreeze', 'ForeignUser')[$rng.Next(3)]; Pick = $rng.Next(1000); Duration = 10000 + $rng.Next(4000) })
    }
    $Plan.Ops = @(Merge-ByTime $Plan.Ops $extra)
    $Plan.Faults = @(Merge-ByTime $Plan.Faults $faults)
    $Plan.Extended = $true
}

# two lists in time order as one, the first's item first on a tie
function Merge-ByTime($First, $Second) {
    $i = 0; $j = 0
    while ($i -lt $First.Count -or $j -lt $Second.Count) {
        if ($j -ge $Second.Count -or ($i -lt $First.Count -and $First[$i].At -le $Second[$j].At)) { $First[$i++] } else { $Second[$j++] }
    }
}
