# The extended plan's parts of a run (docs/chaos.md, "The extended plan"), dot-sourced by
# Invoke-Chaos.ps1 and run in its scope: the second path to the socket, the SupervisorFreeze and
# ForeignUser faults, and the Get-ContainerSupervisor probes that judge a freeze.

# Session 2 reaches containerd through a hard link of the socket, so two paths to one socket are in
# use at once (a bind mount would do as well, but containerd could no longer unlink its socket when
# it restarts). containerd makes a new socket, a new inode, at every start: the link is made again
# after each DaemonRestart.
function Get-SessionAddress([int] $Slot) {
    if ($Extended -and $Slot -eq 2) { return $AltSocket }
    return $Socket
}

function Update-AltSocket {
    if (-not $Extended) { return }
    $null = New-Item -ItemType Directory -Path ([IO.Path]::GetDirectoryName($AltSocket)) -Force
    & ln -f $Socket $AltSocket 2>$null
}

# A second local user (nobody, through setpriv) with no access to the socket tries what the review
# of the lock folder did: create a file and plant a link in the lock folder, open the duty's lock
# file and take its flock. Whatever succeeds is listed in `gained`; the folder's files it made are
# removed at once. The lock file is the one the duty's holder has locked (Get-DutyHolder).
$script:ForeignScript = @'
d=$1; lock=$2; tag=$3; sock=$4; gained=
if (: > "$d/$tag.planted") 2>/dev/null; then gained="$gained create-file"; rm -f "$d/$tag.planted"; fi
if ln -s /proc/self/environ "$d/$tag.lock" 2>/dev/null; then gained="$gained plant-link"; rm -f "$d/$tag.lock"; fi
if [ -n "$lock" ]; then
  if (exec 3<>"$lock") 2>/dev/null; then gained="$gained open-lock-rw"; fi
  if (exec 3<"$lock") 2>/dev/null; then
    gained="$gained open-lock-read"
    flock -n -E 99 "$lock" true 2>/dev/null; [ $? -eq 0 ] && gained="$gained flock"
  fi
fi
if [ -w "$sock" ]; then echo "socket: writable"; else echo "socket: not writable"; fi
echo "gained:$gained"
'@

function Invoke-ForeignUser($Rec) {
    if ((& id -u) -ne '0') { $Rec.detail = 'not root (setpriv needs it): nothing done'; return }
    $lock = "$((Get-DutyHolder).Path)"
    $dir = if ($lock) { [IO.Path]::GetDirectoryName($lock) } else { '/run/pscontainerd' }
    $psi = [Diagnostics.ProcessStartInfo]::new('setpriv')
    foreach ($a in @('--reuid=65534', '--regid=65534', '--clear-groups', '--', 'bash', '-c', $ForeignScript, 'foreign', $dir, $lock, "chaos-$Namespace", $Socket)) { $psi.ArgumentList.Add($a) }
    $psi.UseShellExecute = $false; $psi.RedirectStandardOutput = $true; $psi.RedirectStandardError = $true
    $p = [Diagnostics.Process]::Start($psi)
    $out = $p.StandardOutput.ReadToEndAsync(); $null = $p.StandardError.ReadToEndAsync()
    if (-not $p.WaitForExit(10000)) { try { $p.Kill($true) } catch { }; $Rec.detail = 'the foreign user''s script did not end within 10 s'; return }
    $lines = "$($out.Result)".Trim() -split "`n"
    $Rec.pid = $p.Id
    $Rec.gained = @((($lines | Where-Object { $_ -like 'gained:*' }) -replace '^gained:', '').Trim().Split(' ', [StringSplitOptions]::RemoveEmptyEntries))
    $Rec.detail = "as nobody on $dir (lock file $(if ($lock) { $lock } else { 'unknown' })), $(($lines | Where-Object { $_ -like 'socket:*' }) -join ''): " +
        $(if ($Rec.gained) { "GAINED $($Rec.gained -join ', ')" } else { 'every attempt refused' })
}

# SIGSTOP the process that holds the restart duty (asked with Get-ContainerSupervisor just
# before); SIGCONT when its time is over (Update-Faults). Only a session's or the observer's
# process is ever stopped.
$Freezes = [System.Collections.Generic.List[object]]::new()

# The session (or observer) that holds the restart duty and its lock file, from /proc/locks: the
# one of our processes with a FLOCK on a file of the lock folder (@{ Pid; Path }, or $null). Read here rather than asked with
# Get-ContainerSupervisor, whose answer waits behind the calls queued in a busy session.
function Get-DutyHolder {
    $ours = @{}; foreach ($s in @($Sessions) + $Observer) { if ($s) { $ours["$($s.Pid)"] = $true } }
    $held = @{}
    foreach ($l in @(Get-Content -LiteralPath /proc/locks -ErrorAction Ignore)) {
        $p = -split $l
        if ($p.Count -ge 6 -and $p[1] -eq 'FLOCK' -and $p[3] -eq 'WRITE' -and $ours.ContainsKey($p[4])) { $held[$p[5].Split(':')[-1]] = [int] $p[4] }
    }
    if (-not $held.Count) { return $null }
    # one stat for every file of the folders (an old engine's folder may hold thousands)
    $files = @(foreach ($d in '/run/pscontainerd', '/run/lock/pscontainerd') { try { [IO.Directory]::GetFiles($d) } catch { } })
    if (-not $files) { return $null }
    # a lock on the key of a socket containerd has since re-created may linger: the holder's file
    # is the one its heartbeat touched last
    $best = $null
    foreach ($line in @(& stat -c '%i %Y %n' -- $files 2>$null)) {
        $ino, $mtime, $path = $line.Split(' ', 3)
        if ($held.ContainsKey($ino) -and (-not $best -or [long] $mtime -gt $best.MTime)) { $best = @{ Pid = $held[$ino]; Path = $path; MTime = [long] $mtime } }
    }
    return $best
}

function Invoke-SupervisorFreeze($F, $Rec) {
    $holder = (Get-DutyHolder).Pid
    if (-not $holder -or -not (@($Sessions) + $Observer | Where-Object { $_.Pid -eq $holder })) { $Rec.detail = "the duty holder ($holder) is no session: nothing done"; return }
    # a second freeze of a frozen holder would be ended by the first one's SIGCONT
    if (@($Frozen | Where-Object { $_.Pid -eq $holder })) { $Rec.detail = "the duty holder ($holder) is frozen already: nothing done"; return }
    $Rec.pid = $holder
    if (-not (Send-UnixSignal $holder 'STOP')) { $Rec.detail = "SIGSTOP $holder failed"; $Rec.pid = $null; return }
    $Frozen.Add(@{ Pid = $holder; Until = (Now) + $F.Duration; Rec = $Rec })
    $Freezes.Add(@{ Rec = $Rec; AskedFrozen = $false; AskedThawed = $false })
    $Rec.detail = "SIGSTOP the session holding the restart duty for $($F.Duration) ms"
}

function Invoke-ExtendedFault($F, $Rec) {
    if ($F.Kind -eq 'ForeignUser') { Invoke-ForeignUser $Rec } else { Invoke-SupervisorFreeze $F $Rec }
}

# Asks Get-ContainerSupervisor 6 s into each freeze, when the holder must show as not responding,
# and 3 s after its SIGCONT, when it must respond again: through the observer, which answers at
# once, unless it is the frozen one (then through the least busy session).
function Update-FreezeProbes {
    foreach ($z in $Freezes) {
        $rec = $z.Rec
        $ask = $null
        if (-not $z.AskedFrozen -and -not $rec.t1 -and (Now) -ge $rec.t + 6000) { $z.AskedFrozen = $true; $ask = 'frozen' }
        elseif (-not $z.AskedThawed -and $rec.t1 -and (Now) -ge $rec.t1 + 3000) { $z.AskedThawed = $true; $ask = 'thawed' }
        if (-not $ask) { continue }
        $s = if ($Observer.Pid -ne $rec.pid) { $Observer } else { @($Sessions | Where-Object { $_.Pid -ne $rec.pid -and $_.Ready } | Sort-Object { $_.Backlog.Count }) | Select-Object -First 1 }
        if ($s) { $s.Backlog.Enqueue((New-Call 'Supervisor' $null ([ordered]@{ Probe = $ask; Fault = $rec.t; Pid = $rec.pid }))) }
    }
}

# An exec needs a running task: when the planned container was not running at the last
# observation, one that was is picked by the plan's number (as a fault picks its target).
function Resolve-ExecTarget($Op) {
    $running = @($script:LastObservation | Where-Object { $_ -and $_.Status -eq 'Running' } | ForEach-Object { $_.Id } | Sort-Object)
    if (-not $running -or $running -contains $Op.Id) { return $Op }
    return [ordered]@{ At = $Op.At; Worker = $Op.Worker; Op = $Op.Op; Id = $running[$Op.Args.Pick % $running.Count]; Args = $Op.Args }
}

# the figures of the extended operations for the summary line
function Get-ExtendedFigures {
    if (-not $Extended) { return '' }
    $n = { param($Op, $Where) @($Calls | Where-Object { $_.op -eq $Op -and (& $Where $_) }).Count }
    $execs = & $n 'Exec' { $true }; $execsOk = & $n 'Exec' { $args[0].ok }
    $ctr = & $n 'Exec' { $args[0].args.Via -eq 'ctr' }; $ctrOk = & $n 'Exec' { $args[0].args.Via -eq 'ctr' -and $args[0].ok }
    $rec = & $n 'Recreate' { $true }; $recOk = & $n 'Recreate' { $args[0].ok }
    $two = & $n 'Supervisors' { $true }; $twoOk = & $n 'Supervisors' { $args[0].ok -and $args[0].result[0].PathA }
    $frz = @($Faults | Where-Object { $_.kind -eq 'SupervisorFreeze' -and $_.pid }).Count
    $probes = & $n 'Supervisor' { $args[0].args.Probe -and $args[0].ok }
    $foreign = @($Faults | Where-Object { $_.kind -eq 'ForeignUser' -and $_.pid }).Count
    "; extended: $execs execs ($execsOk ok; $ctr with the container's id as exec id, $ctrOk ok), $rec recreates ($recOk ok), " +
        "$two two-path supervisor checks ($twoOk with a holder), $frz holder freezes ($probes probes), $foreign foreign-user attempts"
}
