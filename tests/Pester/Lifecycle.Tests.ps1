# Lifecycle cmdlets through the built module against the private containerd of the fixture.

Describe 'Lifecycle cmdlets' {
    BeforeAll {
        . $PSScriptRoot/TestHelpers.ps1
        Assert-TestEnvironment
        Import-ModuleUnderTest
        $script:RootFs = $env:PSCD_TEST_ROOTFS
        $script:Ids = [System.Collections.Generic.List[string]]::new()

        # Creates a container with a fresh id that AfterEach removes.
        function New-TestContainer {
            param([string] $Prefix = 'lc', [string[]] $Command = @('sleep', '100'), [hashtable] $With = @{})
            $id = New-TestId $Prefix
            $script:Ids.Add($id)
            New-Container -Id $id -RootFs $script:RootFs -Command $Command @With -ErrorAction Stop
        }
    }

    AfterEach {
        Remove-TestContainers -Ids $script:Ids
        $script:Ids.Clear()
    }

    Describe 'New-Container and Get-Container' {
        It 'creates a container in status Created with its labels, restart policy and stop settings' {
            $c = New-TestContainer -With @{ Label = @{ tier = 'web'; owner = 'runbook' }; RestartPolicy = 'on-failure:3'; StopSignal = 'INT'; StopTimeout = 7 }

            $c | Should -BeOfType PSContainerd.ContainerInfo
            $c.Status | Should -Be 'Created'
            $c.Pid | Should -BeNullOrEmpty

            $got = Get-Container -Id $c.Id
            $got.Id | Should -Be $c.Id
            $got.Namespace | Should -Be 'default'
            $got.Status | Should -Be 'Created'
            $got.Labels['tier'] | Should -Be 'web'
            $got.Labels['owner'] | Should -Be 'runbook'
            $got.RestartPolicy | Should -Be 'on-failure:3'
            $got.StopSignal | Should -Be 'SIGINT'
            $got.StopTimeout | Should -Be 7
        }

        It 'defaults to restart policy no, SIGTERM and 10 seconds' {
            $c = New-TestContainer
            $c.RestartPolicy | Should -Be 'no'
            $c.StopSignal | Should -Be 'SIGTERM'
            $c.StopTimeout | Should -Be 10
        }

        It 'lists the new container when Get-Container is called without -Id' {
            $a = New-TestContainer
            $b = New-TestContainer
            $all = @(Get-Container)
            $all.Id | Should -Contain $a.Id
            $all.Id | Should -Contain $b.Id
        }

        It 'creates nothing with -WhatIf' {
            $id = New-TestId
            $script:Ids.Add($id)
            New-Container -Id $id -RootFs $script:RootFs -WhatIf | Should -BeNullOrEmpty
            Get-Container -Id $id -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        }

        It 'resolves a relative -RootFs and -LogPath against the current location' {
            $id = New-TestId 'rel'
            $script:Ids.Add($id)
            Push-Location (Split-Path $script:RootFs -Parent)
            try {
                $c = New-Container -Id $id -RootFs (Split-Path $script:RootFs -Leaf) -Command sh, -c, 'echo relative-ok; sleep 100' -LogPath (Join-Path $TestDrive 'rel.log') -Start
            }
            finally {
                Pop-Location
            }
            $c.Status | Should -Be 'Running'
            Wait-Condition -Because 'the log shows the container ran from the resolved root' {
                (Test-Path "$TestDrive/rel.log") -and (Get-Content -Raw "$TestDrive/rel.log") -match 'relative-ok'
            } | Should -BeTrue

            Push-Location $TestDrive
            try {
                $d = New-TestContainer -With @{ LogPath = 'sub.log' }
            }
            finally {
                Pop-Location
            }
            $d.Labels['pscontainerd/log-path'] | Should -Be (Join-Path $TestDrive 'sub.log')
        }
    }

    Describe 'New-Container process settings' {
        It 'passes -Environment and -WorkingDirectory to the init process' {
            $log = Join-Path $TestDrive 'env.log'
            New-TestContainer -Command sh, -c, 'echo "foo=$FOO"; echo "cwd=$(pwd)"; echo "path=$PATH"' -With @{
                Environment = 'FOO=bar baz'; WorkingDirectory = '/tmp'; LogPath = $log; Start = $true
            } | Out-Null
            Wait-Condition -Because 'the script printed its three lines' { (Test-Path $log) -and @(Get-Content $log).Count -ge 3 } | Out-Null
            $lines = Get-Content $log
            $lines | Should -Contain 'foo=bar baz'
            $lines | Should -Contain 'cwd=/tmp'
            $lines | Should -Contain 'path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
        }

        It 'removes an -AutoRemove container once its task exits' {
            $c = New-TestContainer -Command sh, -c, 'exit 0' -With @{ AutoRemove = $true; Start = $true }
            $c.Labels['pscontainerd/auto-remove'] | Should -Be 'true'
            Wait-Condition -Because 'the container is removed after its exit' { -not (Get-TestStatus $c.Id) }
        }
    }

    Describe 'Start-Container' {
        It 'starts the task: Running with the pid of a live host process' {
            $c = New-TestContainer
            $s = Start-Container -Id $c.Id
            $s.Status | Should -Be 'Running'
            $s.Pid | Should -BeGreaterThan 0
            Test-Path "/proc/$($s.Pid)" | Should -BeTrue
            (Get-Container -Id $c.Id).Pid | Should -Be $s.Pid
        }

        It 'starts containers piped from Get-Container' {
            $a = New-TestContainer -Prefix 'pipe'
            $b = New-TestContainer -Prefix 'pipe'
            $out = @($a, $b | Start-Container)
            $out.Count | Should -Be 2
            (Get-Container -Id $a.Id).Status | Should -Be 'Running'
            (Get-Container -Id $b.Id).Status | Should -Be 'Running'
        }

        It 'writes an error for an unknown id and still starts the others' {
            $a = New-TestContainer
            $b = New-TestContainer
            $missing = New-TestId 'missing'
            $out = Start-Container -Id $a.Id, $missing, $b.Id -ErrorVariable err -ErrorAction SilentlyContinue
            @($out).Count | Should -Be 2
            $err.Count | Should -Be 1
            $err[0].FullyQualifiedErrorId | Should -BeLike 'ContainerNotFound,*'
            $err[0].TargetObject | Should -Be $missing
            (Get-Container -Id $a.Id).Status | Should -Be 'Running'
            (Get-Container -Id $b.Id).Status | Should -Be 'Running'
        }

        It 'starts a new task for a container whose task exited' {
            $c = New-TestContainer -Command sh, -c, 'exit 3'
            Start-Container -Id $c.Id | Out-Null
            Wait-Condition -Because 'the first run exits' { (Get-TestStatus $c.Id) -eq 'Stopped' } | Out-Null
            (Get-Container -Id $c.Id).ExitCode | Should -Be 3
            $again = Start-Container -Id $c.Id
            $again.Status | Should -BeIn 'Running', 'Stopped' # it exits again at once
            Wait-Condition -Because 'the second run exits too' { (Get-TestStatus $c.Id) -eq 'Stopped' } | Out-Null
            (Get-Container -Id $c.Id).ExitCode | Should -Be 3
        }
    }

    Describe '-LogPath' {
        It "writes the task's stdout to the log file" {
            $log = Join-Path $TestDrive 'hi.log'
            $c = New-TestContainer -Command sh, -c, 'echo hi; sleep 100' -With @{ LogPath = $log; Start = $true }
            $c.Status | Should -Be 'Running'
            Wait-Condition -Because "'hi' reaches $log" { (Test-Path $log) -and (Get-Content $log) -contains 'hi' }
        }
    }

    Describe 'Send-ContainerSignal' {
        It 'KILL ends the container: Stopped with exit code 137' {
            $c = New-TestContainer -With @{ Start = $true }
            $pidBefore = $c.Pid
            Send-ContainerSignal -Id $c.Id -Signal KILL | Should -BeNullOrEmpty
            Wait-Condition -Because 'Get-Container shows the container stopped' { (Get-TestStatus $c.Id) -eq 'Stopped' } | Out-Null
            $after = Get-Container -Id $c.Id
            $after.ExitCode | Should -Be 137
            $after.Pid | Should -BeNullOrEmpty
            Test-Path "/proc/$pidBefore" | Should -BeFalse
        }

        It 'defaults to SIGKILL and writes ContainerInfo with -PassThru' {
            $c = New-TestContainer -With @{ Start = $true }
            $info = Send-ContainerSignal -Id $c.Id -PassThru
            $info | Should -BeOfType PSContainerd.ContainerInfo
            $info.Id | Should -Be $c.Id
            Wait-Condition -Because 'SIGKILL stops it' { (Get-TestStatus $c.Id) -eq 'Stopped' } | Out-Null
            (Get-Container -Id $c.Id).ExitCode | Should -Be 137
        }

        It 'delivers a catchable signal to the init process (TERM handled by a trap)' {
            $log = Join-Path $TestDrive 'trap.log'
            $c = New-TestContainer -Command sh, -c, 'trap "echo got-term; exit 5" TERM; echo ready; while true; do sleep 0.1; done' -With @{ LogPath = $log; Start = $true }
            Wait-Condition -Because 'the trap is installed' { (Test-Path $log) -and (Get-Content $log) -contains 'ready' } | Out-Null
            Send-ContainerSignal -Id $c.Id -Signal SIGTERM
            Wait-Condition -Because 'the trap ran and the container exited' { (Get-TestStatus $c.Id) -eq 'Stopped' } | Out-Null
            (Get-Container -Id $c.Id).ExitCode | Should -Be 5
            Get-Content $log | Should -Contain 'got-term'
        }

        It 'refuses a container that is not running with InvalidContainerState' {
            $c = New-TestContainer
            Send-ContainerSignal -Id $c.Id -Signal TERM -ErrorVariable err -ErrorAction SilentlyContinue
            $err[0].FullyQualifiedErrorId | Should -BeLike 'InvalidContainerState,*'
            (Get-Container -Id $c.Id).Status | Should -Be 'Created'
        }
    }

    Describe 'Suspend-Container and Resume-Container' {
        It 'pauses and resumes a running container' {
            $c = New-TestContainer -With @{ Start = $true }
            $p = Suspend-Container -Id $c.Id -PassThru
            $p.Status | Should -Be 'Paused'
            (Get-Container -Id $c.Id).Status | Should -Be 'Paused'
            # The kernel agrees: a frozen cgroup's task is not runnable.
            Wait-Condition -Because 'the init process is frozen' { (Get-Content "/proc/$($c.Pid)/status" | Select-String '^State:') -match '\b[DST]\b' }

            $r = Resume-Container -Id $c.Id -PassThru
            $r.Status | Should -Be 'Running'
            (Get-Container -Id $c.Id).Status | Should -Be 'Running'
            (Get-Container -Id $c.Id).Pid | Should -Be $c.Pid
        }

        It 'writes nothing without -PassThru' {
            $c = New-TestContainer -With @{ Start = $true }
            Suspend-Container -Id $c.Id | Should -BeNullOrEmpty
            Resume-Container -Id $c.Id | Should -BeNullOrEmpty
            (Get-Container -Id $c.Id).Status | Should -Be 'Running'
        }

        It 'refuses to pause a container that has no task, saying it is not running' {
            $c = New-TestContainer
            Suspend-Container -Id $c.Id -ErrorVariable err -ErrorAction SilentlyContinue
            $err.Count | Should -Be 1
            $err[0].FullyQualifiedErrorId | Should -BeLike 'InvalidContainerState,*'
            "$($err[0])" | Should -BeLike '*not running*'
        }
    }

    Describe 'Remove-Container' {
        It 'removes a created container' {
            $c = New-TestContainer
            Remove-Container -Id $c.Id | Should -BeNullOrEmpty
            Get-Container -Id $c.Id -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $err[0].FullyQualifiedErrorId | Should -BeLike 'ContainerNotFound,*'
        }

        It 'removes a stopped container' {
            $c = New-TestContainer -Command sh, -c, 'exit 0' -With @{ Start = $true }
            Wait-Condition -Because 'it exits' { (Get-TestStatus $c.Id) -eq 'Stopped' } | Out-Null
            Remove-Container -Id $c.Id
            Get-TestStatus $c.Id | Should -BeNullOrEmpty
        }

        It 'refuses a running container without -Force and leaves it running' {
            $c = New-TestContainer -With @{ Start = $true }
            Remove-Container -Id $c.Id -ErrorVariable err -ErrorAction SilentlyContinue
            $err.Count | Should -Be 1
            $err[0].FullyQualifiedErrorId | Should -BeLike 'InvalidContainerState,*'
            "$($err[0])" | Should -BeLike '*-Force*'
            $now = Get-Container -Id $c.Id
            $now.Status | Should -Be 'Running'
            $now.Pid | Should -Be $c.Pid
        }

        It 'kills and removes a running container with -Force' {
            $c = New-TestContainer -With @{ Start = $true }
            Remove-Container -Id $c.Id -Force
            Get-TestStatus $c.Id | Should -BeNullOrEmpty
            Wait-Condition -Because 'the init process is gone' { -not (Test-Path "/proc/$($c.Pid)") }
        }

        It 'removes a paused container with -Force' {
            $c = New-TestContainer -With @{ Start = $true }
            Suspend-Container -Id $c.Id
            Remove-Container -Id $c.Id -Force
            Get-TestStatus $c.Id | Should -BeNullOrEmpty
        }

        It 'removes what Get-Container -Id prefix* pipes to it, and nothing else' {
            $prefix = New-TestId 'pl'
            $script:Ids.Add($prefix)
            $bystander = New-TestContainer -Prefix 'by'
            foreach ($n in 1..3) {
                New-Container -Id "$prefix-$n" -RootFs $script:RootFs -Command sleep, 100 -Start:($n -ne 3) | Out-Null
            }
            @(Get-Container -Id "$prefix*").Count | Should -Be 3

            Get-Container -Id "$prefix*" | Remove-Container -Force

            @(Get-Container -Id "$prefix*").Count | Should -Be 0
            (Get-Container -Id $bystander.Id).Status | Should -Be 'Created'
        }
    }

    Describe 'Id resolution' {
        It 'prefers an exact id over a longer id it prefixes' {
            $base = New-TestId 'ex'
            $script:Ids.Add($base)
            New-Container -Id $base -RootFs $script:RootFs | Out-Null
            New-Container -Id "$base-long" -RootFs $script:RootFs | Out-Null
            (Get-Container -Id $base).Id | Should -Be $base
            @(Get-Container -Id $base).Count | Should -Be 1
        }

        It 'matches wildcards, case-insensitively, and writes no error when none match' {
            $base = New-TestId 'wc'
            $script:Ids.Add($base)
            foreach ($s in 'a1', 'a2', 'b1') {
                New-Container -Id "$base-$s" -RootFs $script:RootFs | Out-Null
            }
            (Get-Container -Id "$base-a*").Id | Sort-Object | Should -Be "$base-a1", "$base-a2"
            (Get-Container -Id "$base-?1").Id | Sort-Object | Should -Be "$base-a1", "$base-b1"
            (Get-Container -Id "$($base.ToUpperInvariant())-B*").Id | Should -Be "$base-b1"
            Get-Container -Id "$base-zz*" -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $err.Count | Should -Be 0
        }

        It 'writes each container once when several ids name it' {
            $c = New-TestContainer
            @(Get-Container -Id $c.Id, "$($c.Id)*", "$($c.Id.Substring(0, $c.Id.Length - 2))*").Count | Should -Be 1
        }
    }
}
