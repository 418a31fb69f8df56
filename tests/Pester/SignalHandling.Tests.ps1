# StopResult.SignalHandled and TimeToExit: whether PID 1 could take the stop signal, and how long it took.

Describe 'Stop-Container and the stop signal handler' {
    BeforeAll {
        . $PSScriptRoot/TestHelpers.ps1
        Assert-TestEnvironment
        Import-ModuleUnderTest
        $script:Ids = [System.Collections.Generic.List[string]]::new()

        function Start-Service([string[]] $Command) {
            $id = New-TestId 'sh'
            $script:Ids.Add($id)
            New-Container -Id $id -RootFs $env:PSCD_TEST_ROOTFS -Command $Command -Start -ErrorAction Stop
        }
    }

    AfterEach {
        Remove-TestContainers -Ids $script:Ids
        $script:Ids.Clear()
    }

    It 'says the signal was handled and how long the exit took, with no warning' {
        $c = Start-Service sh, -c, 'trap "sleep 0.3; exit 0" TERM; while :; do sleep 0.1; done'
        $null = Wait-Container -Id $c.Id -Condition Ready -SignalHandled -Timeout 20
        $r = Stop-Container -Id $c.Id -Timeout 10
        $r.SignalHandled | Should -BeTrue
        $r.Escalation | Should -Be 'None'
        $r.TimeToExit | Should -BeGreaterThan ([TimeSpan]::FromMilliseconds(250))
        $r.TimeToExit | Should -BeLessThan $r.Duration
        $r.Warnings | Should -BeNullOrEmpty
    }

    It 'warns at the signal that PID 1 has no handler, before the grace period runs out' {
        $c = Start-Service sleep, 300   # sleep installs no TERM handler: the kernel drops TERM for a namespace's init
        $r = Stop-Container -Id $c.Id -Timeout 1
        $r.SignalHandled | Should -BeFalse
        $r.Escalation | Should -Be 'Kill'
        $r.Warnings | Should -Match 'has no handler for SIGTERM'
        # the warning comes before the grace period, at the signal
        $warn = $r.Steps | Where-Object Action -EQ 'warning' | Select-Object -First 1
        $kill = $r.Steps | Where-Object Action -EQ 'kill' | Select-Object -First 1
        $kill | Should -Not -BeNullOrEmpty
        $warn.At | Should -BeLessThan $kill.At
        $r.TimeToExit | Should -BeGreaterOrEqual ([TimeSpan]::FromSeconds(0.9))
    }

    It 'claims neither for a container that was already stopped' {
        $c = Start-Service sh, -c, 'exit 0'
        $null = Wait-Container -Id $c.Id -Timeout 20
        $r = Stop-Container -Id $c.Id
        $r.Outcome | Should -Be 'AlreadyStopped'
        $r.SignalHandled | Should -BeNullOrEmpty
        $r.TimeToExit | Should -BeNullOrEmpty
    }
}
