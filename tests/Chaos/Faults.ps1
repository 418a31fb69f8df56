# Finding the processes a fault hits: a container's shim (matched on its command line: our socket
# and `-id ID`) and its init process (the shim's child). Only processes of the run's own
# containerd are ever touched.

function Get-ProcCmdline([int] $ProcessId) {
    try { return ([IO.File]::ReadAllText("/proc/$ProcessId/cmdline") -replace "`0", ' ').Trim() } catch { return $null }
}

function Get-ProcParent([int] $ProcessId) {
    try {
        $stat = [IO.File]::ReadAllText("/proc/$ProcessId/stat")
        # the command name is in parentheses and may hold spaces: the fields after the last ')'
        $rest = $stat.Substring($stat.LastIndexOf(')') + 2).Split(' ')
        return [int] $rest[1]
    } catch { return 0 }
}

# the process's start time in clock ticks since boot (field 22 of /proc/PID/stat); $null when gone
function Get-ProcStartTicks([int] $ProcessId) {
    try {
        $stat = [IO.File]::ReadAllText("/proc/$ProcessId/stat")
        $rest = $stat.Substring($stat.LastIndexOf(')') + 2).Split(' ')
        if ($rest[0] -in 'Z', 'X') { return $null }
        return [ulong] $rest[19]
    } catch { return $null }
}

# true when the owner written in a stop intent (PID or PID:STARTTICKS) no longer runs
function Test-OwnerGone([string] $Owner) {
    $p = $Owner.Split(':')
    $ticks = Get-ProcStartTicks ([int] $p[0])
    if ($null -eq $ticks) { return $true }
    return ($p.Count -ge 2 -and "$ticks" -ne $p[1])
}

function Get-ProcessIds {
    foreach ($d in [IO.Directory]::EnumerateDirectories('/proc')) {
        $name = [IO.Path]::GetFileName($d)
        $n = 0
        if ([int]::TryParse($name, [ref] $n)) { $n }
    }
}

# @{ ContainerId = @(shim pids) } for every shim of the given socket
function Get-ShimTable([string] $Socket) {
    $t = @{}
    foreach ($p in Get-ProcessIds) {
        $cmd = Get-ProcCmdline $p
        if (-not $cmd -or $cmd -notlike '*containerd-shim*' -or $cmd -notlike "*$Socket*") { continue }
        if ($cmd -match '(^|\s)-id\s+(\S+)') { $t[$Matches[2]] = @($t[$Matches[2]] | Where-Object { $_ }) + $p }
    }
    return $t
}

function Get-ChildPids([int] $ParentId) {
    foreach ($p in Get-ProcessIds) { if ((Get-ProcParent $p) -eq $ParentId) { $p } }
}

function Send-UnixSignal([int] $ProcessId, [string] $Signal) {
    & kill "-$Signal" $ProcessId 2>$null
    return ($LASTEXITCODE -eq 0)
}
