# The restart supervisor through the built module: one process per (socket, namespace) restarts,
# every other one records; a container stopped by hand in any process is never restarted; killing
# the supervisor's process hands the duty to another within a bound. "Another process" is a real
# child pwsh.

BeforeAll {
    . $PSScriptRoot/TestHelpers.ps1
    Assert-TestEnvironment
    Import-ModuleUnderTest
    $script:RootFs = $env:PSCD_TEST_ROOTFS

    function Get-SupervisorPid([string] $Namespace) {
        (Get-ContainerSupervisor -Namespace $Namespace).ProcessId
    }

    function Stop-ChildTree([Diagnostics.Process] $Child) {
        if ($Child -and -not $Child.HasExited) { $Child.Kill($true); $null = $Child.WaitForExit(10000) }
    }
}

Describe 'Get-ContainerSupervisor' {
    It 'writes nothing while no process holds the duty, then names this process once its engine runs' {
        $ns = "pester-sup-$([guid]::NewGuid().ToString('N').Substring(0, 6))"
        Get-ContainerSupervisor -Namespace $ns | Should -BeNullOrEmpty
        Get-Container -Namespace $ns | Out-Null   # this process's engine for $ns now contends
        $info = Wait-Condition -TimeoutSeconds 10 -Because 'this process took the duty' { Get-ContainerSupervisor -Namespace $ns }
        $info.ProcessId | Should -Be $PID
        $info.IsCurrentProcess | Should -BeTrue
        $info.Namespace | Should -Be $ns
        $info.Since | Should -BeOfType [datetime]
        $info.LockPath | Should -Exist
    }
}

Describe 'Start-ContainerSupervisor' {
    It 'returns a job that Get-Job lists, that reports the duty, and that Stop-Job stops' {
        $ns = "pester-sup-$([guid]::NewGuid().ToString('N').Substring(0, 6))"
        $job = Start-ContainerSupervisor -Namespace $ns
        try {
            $job.PSJobTypeName | Should -Be 'PSContainerdSupervisorJob'
            (Get-Job -Id $job.Id).Id | Should -Be $job.Id
            # wait for the one output item to be added before reading it (Receive-Job copies the
            # collection while the job's thread may still be adding to it)
            Wait-Condition -TimeoutSeconds 15 -Because 'the job reported the duty' { $job.Output.Count -ge 1 } | Out-Null
            $info = Receive-Job $job -Keep
            $info.ProcessId | Should -Be $PID
            $job.State | Should -Be 'Running'
            Stop-Job $job
            $job.State | Should -Be 'Stopped'
        } finally {
            Remove-Job $job -Force
        }
    }

    It 'refuses a namespace another manager owns' {
        Start-ContainerSupervisor -Namespace moby -ErrorVariable errs -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'ForeignNamespace,*'
    }
}

Describe 'One restart supervisor across processes' {
    BeforeAll {
        $script:Ns = "pester-sup-$([guid]::NewGuid().ToString('N').Substring(0, 6))"
        # The supervisor is a child pwsh, started before this process touches the namespace, so it holds the duty.
        $script:Supervisor = Start-ChildSession 'Start-ContainerSupervisor -Wait | Out-Null' $Ns
        $script:SupervisorPid = Wait-Condition -TimeoutSeconds 60 -Because 'the child pwsh took the restart duty' {
            if ($script:Supervisor.HasExited) { throw "the supervisor exited: $($script:Supervisor.StandardError.ReadToEnd())" }
            Get-SupervisorPid $Ns
        }
    }

    AfterAll {
        Stop-ChildTree $script:Supervisor
        Get-Container -Namespace $Ns | Remove-Container -Namespace $Ns -Force -ErrorAction SilentlyContinue
    }

    It 'the supervisor process restarts an always container; a manual stop here is never undone there' {
        $script:SupervisorPid | Should -Not -Be $PID
        $id = New-TestId 'sup'
        New-Container -Namespace $Ns -Id $id -RootFs $RootFs -Command '/bin/sleep', '1000' -RestartPolicy always -Start | Out-Null
        Get-ContainerSupervisor -Namespace $Ns | ForEach-Object IsCurrentProcess | Should -BeFalse

        # An exit nobody asked for: the supervisor (the other process) restarts it.
        $before = Get-Container -Namespace $Ns -Id $id
        kill -9 $before.Pid
        $restarted = Wait-Condition -TimeoutSeconds 20 -Because 'the supervisor restarted the container' {
            $c = Get-Container -Namespace $Ns -Id $id
            if ($c.Status -eq 'Running' -and $c.RestartCount -ge 1 -and $c.Pid -ne $before.Pid) { $c }
        }
        $restarted.RestartCount | Should -Be 1

        # A manual stop in this (non-supervising) process: the supervisor must not restart it.
        $stop = Stop-Container -Namespace $Ns -Id $id -Timeout 5
        $stop.Outcome | Should -Be 'Stopped'
        $next = Wait-Container -Namespace $Ns -Id $id -Condition NextExit -Timeout 3
        $next.TimedOut | Should -BeTrue
        $after = Get-Container -Namespace $Ns -Id $id
        $after.Status | Should -Be 'Stopped'
        $after.RestartCount | Should -Be 1
        $after.Labels['pscontainerd/manually-stopped'] | Should -Be 'true'
    }

    It 'a manual stop by a third process is never undone by the supervisor either' {
        $id = New-TestId 'sup3'
        New-Container -Namespace $Ns -Id $id -RootFs $RootFs -Command '/bin/sleep', '1000' -RestartPolicy always -Start | Out-Null
        $third = Start-ChildSession "Stop-Container -Id $id -Timeout 5 | Out-Null" $Ns
        try {
            $third.WaitForExit(60000) | Should -BeTrue
            $third.ExitCode | Should -Be 0
        } finally { Stop-ChildTree $third }
        Wait-Condition -TimeoutSeconds 10 -Because 'the stop was recorded' { (Get-Container -Namespace $Ns -Id $id).Status -eq 'Stopped' } | Out-Null
        $next = Wait-Container -Namespace $Ns -Id $id -Condition NextExit -Timeout 3
        $next.TimedOut | Should -BeTrue
        (Get-Container -Namespace $Ns -Id $id).RestartCount | Should -Be 0
    }

    It 'killing the supervisor process hands the duty to this one within a bound, and this one restarts' {
        $id = New-TestId 'suph'
        New-Container -Namespace $Ns -Id $id -RootFs $RootFs -Command '/bin/sleep', '1000' -RestartPolicy always -Start | Out-Null
        Get-SupervisorPid $Ns | Should -Not -Be $PID

        Stop-ChildTree $script:Supervisor   # SIGKILL: only the kernel releases its lock
        $sw = [Diagnostics.Stopwatch]::StartNew()
        Wait-Condition -TimeoutSeconds 5 -Because 'this process took the duty over' { (Get-SupervisorPid $Ns) -eq $PID } | Out-Null
        $sw.Elapsed.TotalSeconds | Should -BeLessThan 5

        $before = Get-Container -Namespace $Ns -Id $id
        kill -9 $before.Pid
        $restarted = Wait-Condition -TimeoutSeconds 20 -Because 'the new supervisor restarted the container' {
            $c = Get-Container -Namespace $Ns -Id $id
            # the restart count is written right after the new task starts
            if ($c.Status -eq 'Running' -and $c.Pid -ne $before.Pid -and $c.RestartCount -ge 1) { $c }
        }
        $restarted.RestartCount | Should -Be 1
    }
}

Describe 'A frozen restart supervisor' {
    It 'shows as not responding within the bound while SIGSTOPped, and responding again once continued' {
        $ns = "pester-sup-$([guid]::NewGuid().ToString('N').Substring(0, 6))"
        $child = Start-ChildSession 'Start-ContainerSupervisor -Wait | Out-Null' $ns
        $holder = $null
        try {
            $holder = Wait-Condition -TimeoutSeconds 60 -Because 'the child pwsh took the restart duty' {
                if ($child.HasExited) { throw "the supervisor exited: $($child.StandardError.ReadToEnd())" }
                Get-ContainerSupervisor -Namespace $ns | Where-Object ProcessId -ne $PID
            }
            $holder.Responding | Should -BeTrue

            kill -STOP $holder.ProcessId
            $sw = [Diagnostics.Stopwatch]::StartNew()
            # The bound: a heartbeat every second, stale after 5 s (docs/supervisor.md).
            $frozen = Wait-Condition -TimeoutSeconds 15 -Because 'the stopped holder shows as not responding' {
                Get-ContainerSupervisor -Namespace $ns | Where-Object Responding -eq $false
            }
            $frozen.ProcessId | Should -Be $holder.ProcessId
            $sw.Elapsed.TotalSeconds | Should -BeLessThan 10

            kill -CONT $holder.ProcessId
            Wait-Condition -TimeoutSeconds 15 -Because 'the continued holder responds again' {
                Get-ContainerSupervisor -Namespace $ns | Where-Object Responding -eq $true
            } | Out-Null
        } finally {
            if ($holder) { kill -CONT $holder.ProcessId 2>$null }
            Stop-ChildTree $child
        }
    }
}
