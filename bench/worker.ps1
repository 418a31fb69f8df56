#Requires -Version 7.4
<#
.SYNOPSIS
    The bench's warm PowerShell session: imports the module once, then answers one request per
    line on stdin with one "@@ <milliseconds>" line (or "@@error <text>") on stdout.
        single <timeout> coop|stubborn   create, start, Stop-Container -Timeout <timeout>, remove
        bulk <count> <throttle|default>  <count> containers stopped by one Stop-Container call
        quit
    Only the Stop-Container call is timed; setup and removal are not.
#>
param([Parameter(Mandatory)] [string] $Module, [Parameter(Mandatory)] [string] $RootFs)
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
Import-Module $Module
$env:CONTAINERD_NAMESPACE = 'bench-session'
$cooperative = '/bin/sh', '-c', "trap 'exit 0' TERM; sleep 1000 & wait"
$stubborn = '/bin/sleep', '1000'

function Say([string] $Text) { [Console]::Out.WriteLine("@@ $Text"); [Console]::Out.Flush() }

. "$PSScriptRoot/Wait-Trap.ps1"

function New-BenchContainer([string[]] $Command) {
    $id = "ses-$([guid]::NewGuid().ToString('N').Substring(0, 8))"
    $c = New-Container -Id $id -RootFs $RootFs -Command $Command -Start
    if ($Command[0] -eq '/bin/sh') { Wait-Trap $c.Pid }
    $id
}

Say 'ready'
while ($null -ne ($line = [Console]::In.ReadLine())) {
    $words = $line -split ' '
    try {
        switch ($words[0]) {
            'single' {
                $coop = $words[2] -eq 'coop'
                $id = New-BenchContainer $(if ($coop) { $cooperative } else { $stubborn })
                $sw = [Diagnostics.Stopwatch]::StartNew()
                $r = Stop-Container -Id $id -Timeout ([int] $words[1])
                $sw.Stop()
                Remove-Container -Id $id
                $expected = if ($coop) { 0 } else { 137 }
                if ($r.ExitCode -ne $expected) { throw "$id exited $($r.ExitCode), not $expected" }
                Say ($sw.Elapsed.TotalMilliseconds.ToString([cultureinfo]::InvariantCulture))
            }
            'bulk' {
                $ids = @(1..([int] $words[1]) | ForEach-Object { New-BenchContainer $cooperative })
                $throttle = if ($words[2] -eq 'default') { @{} } else { @{ ThrottleLimit = [int] $words[2] } }
                $sw = [Diagnostics.Stopwatch]::StartNew()
                $results = @(Stop-Container -Id $ids -Timeout 10 @throttle)
                $sw.Stop()
                $ids | Remove-Container
                $bad = @($results | Where-Object { $_.ExitCode -ne 0 })
                if ($results.Count -ne $ids.Count -or $bad.Count -gt 0) { throw "$($results.Count) results for $($ids.Count) containers, $($bad.Count) not exit 0" }
                Say ($sw.Elapsed.TotalMilliseconds.ToString([cultureinfo]::InvariantCulture))
            }
            'quit' { return }
            default { throw "unknown request '$line'" }
        }
    } catch {
        [Console]::Out.WriteLine("@@error $($_.Exception.Message -replace '\s+', ' ')")
        [Console]::Out.Flush()
    }
}
