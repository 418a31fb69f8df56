# Dot-sourced by bench/worker.ps1 and bench/soak.ps1.
# A stop sent before a shell's TERM trap is in (its bit in /proc/PID/status SigCgt) is dropped by
# the kernel (PID 1 without a handler) and would measure the grace period instead of the stop.
# Then the shell must be blocked in `wait` (wchan sigsuspend): busybox sh loses a trapped signal that
# lands between `sleep &` and its `wait` (the trap runs only when `wait` returns, 1000 s later).
function Wait-Trap([uint32] $ProcessId) {
    $deadline = [datetime]::UtcNow.AddSeconds(30)
    while ($true) {
        $status = Get-Content "/proc/$ProcessId/status" -ErrorAction Ignore
        if (-not $status) { return }   # gone
        $caught = [Convert]::ToUInt64((($status | Where-Object { $_ -like 'SigCgt:*' }) -replace 'SigCgt:\s*', ''), 16)
        $wchan = Get-Content "/proc/$ProcessId/wchan" -Raw -ErrorAction Ignore
        if (($caught -band 0x4000) -ne 0 -and ($wchan -like '*sigsuspend*' -or $wchan -like '*wait*')) { return }
        if ([datetime]::UtcNow -gt $deadline) { throw "pid $ProcessId never installed its TERM trap" }
        Start-Sleep -Milliseconds 5
    }
}
