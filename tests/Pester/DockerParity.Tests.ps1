# docker restart / update / logs counterparts, and what a container shows after a restart.
# Through the built module, against the private containerd of the test run.

BeforeAll {
    . $PSScriptRoot/TestHelpers.ps1
    Assert-TestEnvironment
    Import-ModuleUnderTest
    $script:SavedNamespace = $env:CONTAINERD_NAMESPACE
    $env:CONTAINERD_NAMESPACE = 'pester-parity'
    $script:RootFs = $env:PSCD_TEST_ROOTFS
    $script:Cooperative = @('/bin/sh', '-c', "trap 'exit 0' TERM; sleep 1000 & wait")
}

AfterAll {
    Get-Container | Remove-Container -Force -ErrorAction SilentlyContinue
    $env:CONTAINERD_NAMESPACE = $script:SavedNamespace
}

Describe 'Restart-Container' {
    AfterEach { Get-Container | Remove-Container -Force -ErrorAction SilentlyContinue }

    It 'stops with Stop-Container''s semantics, then starts: a new pid, Running, no exit code of the old run' {
        $id = New-TestId 'rs'
        $first = New-Container -Id $id -RootFs $RootFs -Command sleep, 1000 -Start
        $events = Get-ContainerEvent -Id $id -Type Stop, Exit, Start -AsJob
        try {
            Wait-Condition -Because 'the listener is live' { $events.Verbose.Count -gt 0 } | Out-Null
            $r = Restart-Container -Id $id -Timeout 0 -Verbose 4>&1
            $info = $r | Where-Object { $_ -is [PSContainerd.ContainerInfo] }
            $verbose = $r | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }
            $info.Status | Should -Be 'Running'
            $info.Pid | Should -Not -Be $first.Pid
            $info.ExitCode | Should -BeNullOrEmpty   # the old run's 137 is history
            "$verbose" | Should -BeLike '*SIGKILL*'   # -Timeout 0: the stop escalated at once, as Stop-Container would
            Wait-Condition -Because 'the new run started' { @($events.Output | Where-Object Type -eq 'Start').Count -gt 0 } | Out-Null
            ($events.Output | Where-Object Type -eq 'Exit').Attributes['ExitCode'] | Should -Be '137'
        } finally {
            $events | Remove-Job -Force
        }
    }

    It 'starts a container that was not running' {
        $id = New-TestId 'rs'
        New-Container -Id $id -RootFs $RootFs -Command sleep, 1000 | Out-Null
        (Restart-Container -Id $id).Status | Should -Be 'Running'
    }

    It 'refuses an invalid -Signal before any container is touched' {
        $id = New-TestId 'rs'
        $c = New-Container -Id $id -RootFs $RootFs -Command sleep, 1000 -Start
        { Restart-Container -Id $id -Signal NOPE -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidSignal,*'
        (Get-Container -Id $id).Pid | Should -Be $c.Pid
    }
}

Describe 'Running containers show no previous exit' {
    It 'Start-Container after an exit: ExitCode is empty while the new run lives' {
        $id = New-TestId 'u10'
        try {
            New-Container -Id $id -RootFs $RootFs -Command sleep, 1000 -Start | Out-Null
            (Stop-Container -Id $id -Timeout 0).ExitCode | Should -Be 137
            (Get-Container -Id $id).ExitCode | Should -Be 137
            $info = Start-Container -Id $id
            $info.Status | Should -Be 'Running'
            $info.ExitCode | Should -BeNullOrEmpty
            (Get-Container -Id $id).ExitCode | Should -BeNullOrEmpty
        } finally {
            Remove-Container -Id $id -Force -ErrorAction SilentlyContinue
        }
    }
}

Describe 'Set-Container' {
    AfterEach { Get-Container | Remove-Container -Force -ErrorAction SilentlyContinue }

    It 'changes restart policy, stop signal and stop timeout of an existing container, and the next stop uses them' {
        $id = New-TestId 'set'
        New-Container -Id $id -RootFs $RootFs -Command '/bin/sh', '-c', "trap 'exit 3' HUP; sleep 1000 & wait" -Start | Out-Null
        Wait-ContainerTrap $id 'pester-parity' -Signal 1
        $info = Set-Container -Id $id -RestartPolicy on-failure:2 -StopSignal HUP -StopTimeout 7 -PassThru
        $info.RestartPolicy | Should -Be 'on-failure:2'
        $info.StopSignal | Should -Be 'SIGHUP'
        $info.StopTimeout | Should -Be 7
        $info.Status | Should -Be 'Running'
        $r = Stop-Container -Id $id
        $r.Signal | Should -Be 'SIGHUP'
        $r.Timeout | Should -Be 7
        $r.ExitCode | Should -Be 3
    }

    It 'leaves settings not given as they were, and writes nothing without -PassThru' {
        $id = New-TestId 'set'
        New-Container -Id $id -RootFs $RootFs -StopSignal SIGHUP -RestartPolicy always | Out-Null
        Set-Container -Id $id -StopTimeout 3 | Should -BeNullOrEmpty
        $info = Get-Container -Id $id
        $info.StopSignal | Should -Be 'SIGHUP'
        $info.RestartPolicy | Should -Be 'always'
        $info.StopTimeout | Should -Be 3
    }

    It 'refuses bad values and an empty call before touching anything' {
        $id = New-TestId 'set'
        New-Container -Id $id -RootFs $RootFs | Out-Null
        { Set-Container -Id $id -RestartPolicy sometimes -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidRestartPolicy,*'
        { Set-Container -Id $id -StopSignal SIGNOPE -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidSignal,*'
        { Set-Container -Id $id -ErrorAction Stop } | Should -Throw -ErrorId 'NoSettingGiven,*'
        (Get-Container -Id $id).RestartPolicy | Should -Be 'no'
    }
}

Describe 'Get-ContainerLog' {
    AfterEach { Get-Container | Remove-Container -Force -ErrorAction SilentlyContinue }

    It 'writes the lines a container wrote, and the last ones with -Tail' {
        $id = New-TestId 'log'
        $log = Join-Path $TestDrive "$id.log"
        New-Container -Id $id -RootFs $RootFs -LogPath $log -Command '/bin/sh', '-c', 'echo oops >&2; sleep 0.5; for i in 1 2 3 4 5; do echo line $i; done' -Start | Out-Null
        Wait-Container -Id $id -Timeout 20 | Out-Null
        # stdout and stderr are copied to the file separately: the pause keeps their order certain
        Get-ContainerLog -Id $id | Should -Be 'oops', 'line 1', 'line 2', 'line 3', 'line 4', 'line 5'
        Get-ContainerLog -Id $id -Tail 2 | Should -Be 'line 4', 'line 5'
    }

    It 'follows with -Wait until the container stops' {
        $id = New-TestId 'log'
        $log = Join-Path $TestDrive "$id.log"
        New-Container -Id $id -RootFs $RootFs -LogPath $log -Command '/bin/sh', '-c', 'echo first; while [ ! -e /tmp/go ]; do sleep 0.1; done; echo second' -Start | Out-Null
        $job = Start-ThreadJob { param($m, $i) Import-Module $m; $env:CONTAINERD_NAMESPACE = 'pester-parity'; Get-ContainerLog -Id $i -Wait } -ArgumentList $script:ModulePath, $id
        try {
            Wait-Condition -Because 'the follower wrote the first line' { @($job.Output) -contains 'first' } | Out-Null
            $containerPid = (Get-Container -Id $id).Pid
            New-Item -ItemType File -Path "/proc/$containerPid/root/tmp/go" | Out-Null
            $job | Wait-Job -Timeout 20 | Out-Null
            $job.State | Should -Be 'Completed'
            @($job.Output) | Should -Be 'first', 'second'
        } finally {
            $job | Remove-Job -Force
        }
    }

    It 'writes NoContainerLog for a container created with -NoLog' {
        $id = New-TestId 'log'
        New-Container -Id $id -RootFs $RootFs -NoLog | Out-Null
        Get-ContainerLog -Id $id -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'NoContainerLog,*'
    }
}
