# Wait-Container -Condition Ready: readiness checks through the built module, against real containers.

Describe 'Wait-Container -Condition Ready' {
    BeforeAll {
        . $PSScriptRoot/TestHelpers.ps1
        Assert-TestEnvironment
        Import-ModuleUnderTest
        $script:Ids = [System.Collections.Generic.List[string]]::new()

        function Start-TestService([string] $Script, [hashtable] $With = @{}) {
            $id = New-TestId 'rd'
            $script:Ids.Add($id)
            New-Container -Id $id -RootFs $env:PSCD_TEST_ROOTFS -Command sh, -c, $Script -Start -ErrorAction Stop @With
        }
    }

    AfterEach {
        Remove-TestContainers -Ids $script:Ids
        $script:Ids.Clear()
    }

    It 'returns once a line of the log matches -LogPattern, and the line is there' {
        $log = Join-Path $TestDrive 'svc.log'
        $c = Start-TestService 'sleep 0.5; echo "listening on 80"; sleep 300' -With @{ LogPath = $log }
        $r = Wait-Container -Id $c.Id -Condition Ready -LogPattern 'listening on \d+' -Timeout 20
        $r.Condition | Should -Be 'Ready'
        $r.TimedOut | Should -BeFalse
        $r.Error | Should -BeNullOrEmpty
        Get-Content -LiteralPath $log | Should -Contain 'listening on 80'
    }

    It 'says which check was not met when -Timeout runs out' {
        $log = Join-Path $TestDrive 'quiet.log'
        $c = Start-TestService 'echo starting; sleep 300' -With @{ LogPath = $log }
        $r = Wait-Container -Id $c.Id -Condition Ready -LogPattern 'never printed' -Timeout 1
        $r.TimedOut | Should -BeTrue
        $r.Error | Should -Match 'not ready after 1 s'
        $r.Error | Should -Match "log has not matched 'never printed'"
    }

    It 'returns once the container listens on -TcpPort, read from its own network namespace' {
        $c = Start-TestService 'sleep 1; exec httpd -f -p 8080'
        # before: nothing listens yet (the service sleeps first)
        (Wait-Container -Id $c.Id -Condition Ready -TcpPort 8080 -Timeout 0).TimedOut | Should -BeTrue
        $r = Wait-Container -Id $c.Id -Condition Ready -TcpPort 8080 -Timeout 20
        $r.TimedOut | Should -BeFalse
        $r.Error | Should -BeNullOrEmpty
    }

    It 'with -SignalHandled, a stop right after it is graceful although the handler is installed late' {
        $c = Start-TestService 'sleep 1; trap "exit 0" TERM; while true; do sleep 0.1; done'
        $r = Wait-Container -Id $c.Id -Condition Ready -SignalHandled -Timeout 20
        $r.TimedOut | Should -BeFalse
        $s = Stop-Container -Id $c.Id -Timeout 10
        $s.Escalation | Should -Be 'None'
        $s.ExitCode | Should -Be 0
    }

    It 'returns once -Command exits 0 in the container' {
        $c = Start-TestService 'sleep 1; touch /tmp/ready; sleep 300'
        $r = Wait-Container -Id $c.Id -Condition Ready -Command test, -e, /tmp/ready -Timeout 20
        $r.TimedOut | Should -BeFalse
        (Invoke-ContainerCommand -Id $c.Id -Command test, -e, /tmp/ready).ExitCode | Should -Be 0
    }

    It 'ends with the exit and an Error when the container stops before it is ready' {
        $log = Join-Path $TestDrive 'crash.log'
        $c = Start-TestService 'sleep 0.3; exit 3' -With @{ LogPath = $log }
        $r = Wait-Container -Id $c.Id -Condition Ready -LogPattern 'ready' -Timeout 20
        $r.TimedOut | Should -BeFalse
        $r.ExitCode | Should -Be 3
        $r.Error | Should -Match 'stopped before it was ready'
    }

    It 'refuses a readiness check without -Condition Ready' {
        { Wait-Container -Id whatever -TcpPort 80 } | Should -Throw -ErrorId 'ReadinessCheckWithoutReady*'
    }

    It 'writes InvalidContainerState for -LogPattern on a container without a log file' {
        $c = Start-TestService 'sleep 300' -With @{ NoLog = $true }
        $r = Wait-Container -Id $c.Id -Condition Ready -LogPattern x -Timeout 5 -ErrorVariable err -ErrorAction SilentlyContinue
        $r | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'InvalidContainerState*'
        $err[0].Exception.Message | Should -Match 'no log file'
    }
}
