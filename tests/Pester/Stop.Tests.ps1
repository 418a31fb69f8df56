# Stop-Container, Wait-Container and Get-ContainerEvent through the built module, against the
# private containerd the test run started (CONTAINERD_ADDRESS, PSCD_TEST_ROOTFS).

BeforeAll {
    . $PSScriptRoot/TestHelpers.ps1
    Assert-TestEnvironment
    Import-ModuleUnderTest
    $modulePath = $script:ModulePath
    $env:CONTAINERD_NAMESPACE = 'pester-stop'
    $script:RootFs = $env:PSCD_TEST_ROOTFS
    $script:Cooperative = @('/bin/sh', '-c', "trap 'exit 0' TERM; sleep 1000 & wait")
    $script:IgnoresTerm = @('/bin/sleep', '1000')

    function New-TestContainer([string] $Prefix, [string[]] $Command, [hashtable] $Extra = @{}) {
        $id = "$Prefix-$([guid]::NewGuid().ToString('N').Substring(0, 8))"
        New-Container -Id $id -RootFs $script:RootFs -Command $Command -Start @Extra | Out-Null
        if ("$Command" -match "trap '[^']*' (\w+)") {
            Wait-ContainerTrap $id -Signal $(switch ($Matches[1]) { 'USR1' { 10 } 'HUP' { 1 } default { 15 } })
        }
        $id
    }
}

AfterAll {
    Get-Container | Remove-Container -Force -ErrorAction SilentlyContinue
}

Describe 'Stop-Container' {
    AfterEach {
        Get-Container | Remove-Container -Force -ErrorAction SilentlyContinue
    }

    It 'stops a cooperative container with exit 0 and no escalation' {
        $id = New-TestContainer 'coop' $Cooperative
        $r = Stop-Container -Id $id -Timeout 10
        $r | Should -BeOfType ([PSContainerd.StopResult])
        $r.Outcome | Should -Be 'Stopped'
        $r.ExitCode | Should -Be 0
        $r.Escalation | Should -Be 'None'
        (Get-Container -Id $id).Status | Should -Be 'Stopped'
    }

    It 'kills a SIGTERM-ignoring PID 1 when the grace period ends (137, Escalation Kill)' {
        $id = New-TestContainer 'noterm' $IgnoresTerm
        $r = Stop-Container -Id $id -Timeout 1
        $r.ExitCode | Should -Be 137
        $r.Escalation | Should -Be 'Kill'
        $r.Steps.Action | Should -Contain 'kill'
        $r.Duration.TotalSeconds | Should -BeGreaterOrEqual 1
    }

    It 'shows the escalation step by step with -Verbose' {
        $id = New-TestContainer 'verbose' $IgnoresTerm
        $verbose = Stop-Container -Id $id -Timeout 0 -Verbose 4>&1 | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }
        ($verbose.Message -join "`n") | Should -Match "${id}: signal: SIGTERM"
        ($verbose.Message -join "`n") | Should -Match "${id}: kill: SIGKILL"
    }

    It 'stops 20 containers from the pipeline concurrently' {
        $ids = 1..20 | ForEach-Object { New-TestContainer 'p20' $IgnoresTerm }
        $results = Get-Container -Id 'p20-*' | Stop-Container -Timeout 1
        $results.Count | Should -Be 20
        ($results | Where-Object Outcome -eq 'Stopped').Count | Should -Be 20
        ($results.Id | Sort-Object) | Should -Be ($ids | Sort-Object)
        # Concurrent: 20 one-second grace periods overlap instead of adding up.
        $first = ($results.Steps | Where-Object Action -eq 'stop' | Measure-Object -Property At -Minimum).Minimum
        $last = ($results.Steps | Where-Object Action -eq 'exited' | Measure-Object -Property At -Maximum).Maximum
        ($last - $first).TotalSeconds | Should -BeLessThan 15
    }

    It 'reports an unknown id in a pipeline of good ones and stops the good ones' {
        $a = New-TestContainer 'good' $Cooperative
        $b = New-TestContainer 'good' $Cooperative
        $results = $a, 'no-such-container-xyz', $b | Stop-Container -Timeout 5 -ErrorVariable errs -ErrorAction SilentlyContinue
        $results.Count | Should -Be 2
        $results.Outcome | Should -Be @('Stopped', 'Stopped')
        $errs.Count | Should -Be 1
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'ContainerNotFound,*'
        $errs[0].TargetObject | Should -Be 'no-such-container-xyz'
    }

    It 'says AlreadyStopped for a container that is not running, without an error' {
        $id = New-TestContainer 'done' @('/bin/sh', '-c', 'exit 5')
        Wait-Container -Id $id -Timeout 10 | Out-Null
        $r = Stop-Container -Id $id -ErrorVariable errs
        $r.Outcome | Should -Be 'AlreadyStopped'
        $r.ExitCode | Should -Be 5
        $errs.Count | Should -Be 0
    }

    It 'changes nothing with -WhatIf' {
        $id = New-TestContainer 'whatif' $Cooperative
        $r = Stop-Container -Id $id -WhatIf
        $r | Should -BeNullOrEmpty
        (Get-Container -Id $id).Status | Should -Be 'Running'
    }

    It 'refuses an invalid signal before anything changes' {
        $id = New-TestContainer 'badsig' $Cooperative
        { Stop-Container -Id $id -Signal SIGFOO -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidSignal,*'
        (Get-Container -Id $id).Status | Should -Be 'Running'
    }

    It 'refuses -Timeout below -1' {
        { Stop-Container -Id 'x' -Timeout -2 -ErrorAction Stop } | Should -Throw -ErrorId 'ParameterArgumentValidationError,*'
    }

    It 'uses the stop signal and timeout recorded by New-Container' {
        $id = New-TestContainer 'ownsig' @('/bin/sh', '-c', "trap 'exit 10' USR1; sleep 1000 & wait") @{ StopSignal = 'SIGUSR1'; StopTimeout = 7 }
        $r = Stop-Container -Id $id
        $r.Signal | Should -Be 'SIGUSR1'
        $r.Timeout | Should -Be 7
        $r.ExitCode | Should -Be 10
    }

    It 'gives every one of 8 parallel callers the same result from one escalation' {
        $id = New-TestContainer 'par8' $IgnoresTerm
        $results = 1..8 | ForEach-Object -ThrottleLimit 8 -Parallel {
            Import-Module $using:modulePath
            Stop-Container -Id $using:id -Timeout 1
        }
        $results.Count | Should -Be 8
        $results.ExitCode | Sort-Object -Unique | Should -Be 137
        ($results.Steps | Where-Object Action -eq 'signal' | Sort-Object At -Unique).Count | Should -Be 1
    }

    It 'acts in the namespace of piped containers, never on a same-named container elsewhere' {
        $id = "same-$([guid]::NewGuid().ToString('N').Substring(0, 8))"
        try {
            foreach ($ns in 'pester-ns-a', 'pester-ns-b') {
                New-Container -Namespace $ns -Id $id -RootFs $RootFs -Command $Cooperative -Start | Out-Null
                Wait-ContainerTrap $id $ns
            }
            $r = Get-Container -Namespace 'pester-ns-b' -Id $id | Stop-Container -Timeout 5
            $r.Namespace | Should -Be 'pester-ns-b'
            $r.ExitCode | Should -Be 0
            (Get-Container -Namespace 'pester-ns-a' -Id $id).Status | Should -Be 'Running'
            (Get-Container -Namespace 'pester-ns-b' -Id $id).Status | Should -Be 'Stopped'
        } finally {
            'pester-ns-a', 'pester-ns-b' | ForEach-Object { Get-Container -Namespace $_ | Remove-Container -Force -ErrorAction SilentlyContinue }
        }
    }

    It 'stops a container another tool made (ctr run --rootfs)' {
        $id = "ctr-$([guid]::NewGuid().ToString('N').Substring(0, 8))"
        & ctr --address $env:CONTAINERD_ADDRESS --namespace pester-stop run -d --rootfs $RootFs $id /bin/sleep 1000 | Out-Null
        $LASTEXITCODE | Should -Be 0
        (Get-Container -Id $id).Status | Should -Be 'Running'
        $r = Stop-Container -Id $id -Timeout 1
        $r.ExitCode | Should -Be 137
        $r.Escalation | Should -Be 'Kill'
        (Get-Container -Id $id).Status | Should -Be 'Stopped'
    }

    It 'returns a job with -AsJob whose output is the StopResult' {
        $id = New-TestContainer 'job' $Cooperative
        $job = Stop-Container -Id $id -AsJob
        $job | Should -BeOfType ([System.Management.Automation.Job])
        $r = $job | Receive-Job -Wait -AutoRemoveJob
        $r.Id | Should -Be $id
        $r.Outcome | Should -Be 'Stopped'
    }

    It 'ends the wait at once on Ctrl+C (PowerShell.Stop from another thread); the stop goes on' {
        $id = New-TestContainer 'ctrlc' $IgnoresTerm
        $ps = [powershell]::Create()
        try {
            $null = $ps.AddScript("Import-Module '$modulePath'; `$env:CONTAINERD_NAMESPACE = 'pester-stop'; Stop-Container -Id $id -Timeout 3")
            $async = $ps.BeginInvoke()
            # Wait on a condition: the stop has recorded its intent on the container.
            $deadline = [datetime]::UtcNow.AddSeconds(10)
            while (-not (Get-Container -Id $id).Labels['pscontainerd/stop-intent'] -and [datetime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 20 }
            (Get-Container -Id $id).Labels['pscontainerd/stop-intent'] | Should -Not -BeNullOrEmpty
            $sw = [Diagnostics.Stopwatch]::StartNew()
            $ps.Stop()
            $sw.Stop()
            Write-Host "    PowerShell.Stop() returned in $($sw.Elapsed.TotalMilliseconds) ms"
            $sw.Elapsed.TotalMilliseconds | Should -BeLessThan 500
            $async.IsCompleted | Should -BeTrue
            # The engine finishes the stop it started: the container ends with SIGKILL.
            $w = Wait-Container -Id $id -Timeout 15
            $w.ExitCode | Should -Be 137
        } finally {
            $ps.Dispose()
        }
    }
}

Describe 'Wait-Container' {
    AfterEach {
        Get-Container | Remove-Container -Force -ErrorAction SilentlyContinue
    }

    It 'sees an exit caused by ctr task kill' {
        $id = New-TestContainer 'ctrkill' $IgnoresTerm
        # NotRunning, not NextExit: on a loaded machine the kill may land before the job's wait begins.
        $job = Start-ThreadJob { param($m, $i) Import-Module $m; $env:CONTAINERD_NAMESPACE = 'pester-stop'; Wait-Container -Id $i -Condition NotRunning -Timeout 30 } -ArgumentList $modulePath, $id
        & ctr --address $env:CONTAINERD_ADDRESS --namespace pester-stop task kill --signal SIGKILL $id
        $LASTEXITCODE | Should -Be 0
        $w = $job | Receive-Job -Wait -AutoRemoveJob
        $w.ExitCode | Should -Be 137
        $w.TimedOut | Should -BeFalse
    }

    It 'returns the recorded exit of an exited container at once (NotRunning)' {
        $id = New-TestContainer 'exited' @('/bin/sh', '-c', 'exit 42')
        (Wait-Container -Id $id -Timeout 10).ExitCode | Should -Be 42
        $again = Wait-Container -Id $id -Timeout 10
        $again.ExitCode | Should -Be 42
        $again.TimedOut | Should -BeFalse
    }

    It 'says TimedOut when the container is still running at -Timeout' {
        $id = New-TestContainer 'wto' $Cooperative
        $w = Wait-Container -Id $id -Timeout 1
        $w.TimedOut | Should -BeTrue
        $w.ExitCode | Should -BeNullOrEmpty
    }

    It 'returns the first of several with -Any' {
        $slow = New-TestContainer 'slow' $Cooperative
        $fast = New-TestContainer 'fast' @('/bin/sh', '-c', 'sleep 0.5; exit 3')
        $w = Wait-Container -Id $slow, $fast -Any -Timeout 20
        @($w).Count | Should -Be 1
        $w.Id | Should -Be $fast
        $w.ExitCode | Should -Be 3
    }
}

Describe 'Get-ContainerEvent' {
    AfterEach {
        Get-Container | Remove-Container -Force -ErrorAction SilentlyContinue
    }

    It 'streams the Exit of a container stopped meanwhile' {
        $id = New-TestContainer 'events' $Cooperative
        $job = Start-ThreadJob { param($m, $i) Import-Module $m; $env:CONTAINERD_NAMESPACE = 'pester-stop'; Get-ContainerEvent -Id $i -Type Exit -MaxEvents 1 -Timeout 30 -Verbose } -ArgumentList $modulePath, $id
        # Stop only once the listener says (verbose) it is subscribed; poll with a bound.
        $deadline = [datetime]::UtcNow.AddSeconds(10)
        while ($job.Verbose.Count -eq 0 -and [datetime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 20 }
        $job.Verbose.Count | Should -BeGreaterThan 0
        $null = Stop-Container -Id $id -Timeout 5
        $ev = $job | Receive-Job -Wait -AutoRemoveJob
        $ev | Should -Not -BeNullOrEmpty
        $ev.Id | Should -Be $id
        $ev.Type | Should -Be 'Exit'
        $ev.Attributes['ExitCode'] | Should -Be '0'
    }

    It 'collects events in the background with -AsJob; Receive-Job yields them, Stop-Job stops it' {
        $id = New-TestContainer 'evjob' $Cooperative
        $job = Get-ContainerEvent -Id $id -AsJob
        try {
            $job | Should -BeOfType ([System.Management.Automation.Job])
            (Get-Job -Id $job.Id).State | Should -Be 'Running'
            Wait-Condition -Because 'the job is listening' { $job.Verbose.Count -gt 0 } | Out-Null
            $null = Stop-Container -Id $id -Timeout 5
            Wait-Condition -Because 'the job saw the exit' { @($job.Output | Where-Object Type -eq 'Exit').Count -gt 0 } | Out-Null
            $events = Receive-Job -Job $job
            $events.Type | Should -Contain 'Stop'
            $events.Type | Should -Contain 'Exit'
            ($events | Where-Object Type -eq 'Exit').Attributes['ExitCode'] | Should -Be '0'
            Stop-Job -Job $job
            $job.State | Should -Be 'Stopped'
        } finally {
            Remove-Job -Job $job -Force
        }
    }

    It 'ends an -AsJob listener by itself at -MaxEvents' {
        $id = New-TestContainer 'evmax' $Cooperative
        $job = Get-ContainerEvent -Id $id -Type Exit -MaxEvents 1 -AsJob
        try {
            Wait-Condition -Because 'the job is listening' { $job.Verbose.Count -gt 0 } | Out-Null
            $null = Stop-Container -Id $id -Timeout 5
            $job | Wait-Job -Timeout 15 | Out-Null
            $job.State | Should -Be 'Completed'
            (Receive-Job -Job $job).Type | Should -Be 'Exit'
        } finally {
            Remove-Job -Job $job -Force
        }
    }
}
