# Invoke-ContainerCommand (docker exec) through the built module against the fixture's containerd.

Describe 'Invoke-ContainerCommand' {
    BeforeAll {
        . $PSScriptRoot/TestHelpers.ps1
        Assert-TestEnvironment
        Import-ModuleUnderTest
        $script:Ids = [System.Collections.Generic.List[string]]::new()

        function New-RunningContainer {
            $id = New-TestId 'ex'
            $script:Ids.Add($id)
            New-Container -Id $id -RootFs $env:PSCD_TEST_ROOTFS -Command sleep, 300 -Start -ErrorAction Stop
        }
    }

    AfterEach {
        Remove-TestContainers -Ids $script:Ids
        $script:Ids.Clear()
    }

    It 'returns the exit code, stdout and stderr of the command' {
        $c = New-RunningContainer
        $r = Invoke-ContainerCommand -Id $c.Id -Command sh, -c, 'echo out-line; echo err-line >&2; exit 3'
        $r | Should -BeOfType PSContainerd.ExecResult
        $r.Id | Should -Be $c.Id
        $r.Address | Should -Be $c.Address
        $r.ExitCode | Should -Be 3
        $r.Output.Trim() | Should -Be 'out-line'
        $r.Error.Trim() | Should -Be 'err-line'
        $r.TimedOut | Should -BeFalse
        $r.Duration | Should -BeGreaterThan ([TimeSpan]::Zero)
    }

    It 'runs with an exec id other than the container id and leaves the container running, its exit unrecorded' {
        $c = New-RunningContainer
        $r = Invoke-ContainerCommand -Id $c.Id -Command sh, -c, 'exit 42'
        $r.ExitCode | Should -Be 42
        $r.ExecId | Should -Not -BeNullOrEmpty
        $r.ExecId | Should -Not -Be $c.Id
        $after = Get-Container -Id $c.Id
        $after.Status | Should -Be 'Running'
        $after.Pid | Should -Be $c.Pid
        $after.ExitCode | Should -BeNullOrEmpty
        # the exec was removed from the task: containerd lists no process but the init
        (& ctr --address $env:CONTAINERD_ADDRESS -n default tasks ps $c.Id | Select-Object -Skip 1 | Where-Object { $_.Trim() }).Count | Should -Be 1
    }

    It 'adds -Environment (alias -Env) to the container environment and runs in -WorkingDirectory' {
        $c = New-RunningContainer
        $r = Invoke-ContainerCommand -Id $c.Id -Command sh, -c, 'echo "$GREETING:$(pwd)"' -Environment GREETING=hello -WorkingDirectory /tmp
        $r.Output.Trim() | Should -Be 'hello:/tmp'
        # the container's own PATH is still there
        (Invoke-ContainerCommand -Id $c.Id -Command sh, -c, 'echo $PATH' -Env X=1).Output | Should -Match '/bin'
    }

    It 'kills the command when -Timeout runs out and says TimedOut' {
        $c = New-RunningContainer
        $r = Invoke-ContainerCommand -Id $c.Id -Command sh, -c, 'echo started; sleep 60' -Timeout 1
        $r.TimedOut | Should -BeTrue
        $r.ExitCode | Should -Be 137
        $r.Output.Trim() | Should -Be 'started'
        $r.Duration.TotalSeconds | Should -BeLessThan 10
        # nothing of it is left in the container
        Wait-Condition -Because 'the timed-out command is gone from the task' {
            @(& ctr --address $env:CONTAINERD_ADDRESS -n default tasks ps $c.Id | Select-Object -Skip 1 | Where-Object { $_.Trim() }).Count -eq 1
        }
        (Get-Container -Id $c.Id).Status | Should -Be 'Running'
    }

    It 'writes InvalidContainerState for a container that is not running' {
        $id = New-TestId 'ex'
        $script:Ids.Add($id)
        $null = New-Container -Id $id -RootFs $env:PSCD_TEST_ROOTFS -Command sleep, 300
        $r = Invoke-ContainerCommand -Id $id -Command true -ErrorVariable err -ErrorAction SilentlyContinue
        $r | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'InvalidContainerState*'
        $err[0].Exception.Message | Should -Match ([regex]::Escape($id))
    }

    It 'refuses an -Environment entry without = before running anything' {
        $c = New-RunningContainer
        { Invoke-ContainerCommand -Id $c.Id -Command true -Env NOEQUALS } | Should -Throw -ErrorId 'InvalidContainerSpec*'
    }

    It 'runs nothing with -WhatIf' {
        $c = New-RunningContainer
        $r = Invoke-ContainerCommand -Id $c.Id -Command sh, -c, 'touch /tmp/whatif-ran' -WhatIf
        $r | Should -BeNullOrEmpty
        (Invoke-ContainerCommand -Id $c.Id -Command sh, -c, 'test -e /tmp/whatif-ran').ExitCode | Should -Be 1
    }

    It 'runs the command in each piped container' {
        $a = New-RunningContainer
        $b = New-RunningContainer
        $r = @($a, $b | Invoke-ContainerCommand -Command hostname)
        $r.Count | Should -Be 2
        ($r.Id | Sort-Object) | Should -Be (@($a.Id, $b.Id) | Sort-Object)
        $r.ExitCode | Should -Be @(0, 0)
    }
}
