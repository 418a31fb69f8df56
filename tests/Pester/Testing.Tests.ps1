# The Pester helpers themselves (PSContainerd.Testing.ps1): what they pass, what they fail, what they say.

Describe 'Pester helpers' {
    BeforeAll {
        . $PSScriptRoot/TestHelpers.ps1
        Assert-TestEnvironment
        Import-ModuleUnderTest
        $script:RootFs = $env:PSCD_TEST_ROOTFS
        $script:GracefulService = 'trap "exit 0" TERM; while :; do sleep 0.1; done'
    }

    AfterAll {
        PSContainerd\Remove-TestContainer
    }

    It 'are defined because Pester was loaded first' {
        (Get-Command -Module PSContainerd -CommandType Function).Name | Sort-Object | Should -Be @('New-TestContainer', 'Remove-TestContainer')
        (Get-ShouldOperator).Name | Should -Contain 'StopGracefully'
        (Get-ShouldOperator).Name | Should -Contain 'HaveExitCode'
    }

    It 'New-TestContainer takes New-Container parameters, makes up an id and labels the container' {
        $c = PSContainerd\New-TestContainer -RootFs $script:RootFs -Command sleep, 100 -Label @{ role = 'db' } -StopTimeout 3
        $c.Id | Should -Match '^test-[0-9a-f]{8}$'
        $c.Labels['role'] | Should -Be 'db'
        $c.Labels['pscontainerd.test/session'] | Should -Match "^$PID-\d+$"
        $c.StopTimeout | Should -Be 3
        $c.Status | Should -Be 'Created'
    }

    It 'Remove-TestContainer removes what New-TestContainer made, running or not, and nothing else' {
        $mine = PSContainerd\New-TestContainer -RootFs $script:RootFs -Command sleep, 100 -Start
        $other = New-TestId 'hp'
        $null = New-Container -Id $other -RootFs $script:RootFs -Command sleep, 100
        try {
            PSContainerd\Remove-TestContainer
            Get-Container -Id $mine.Id -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            Get-Container -Id $other | Should -Not -BeNullOrEmpty
        } finally {
            Remove-TestContainers -Ids $other
        }
    }

    It 'Should -StopGracefully passes for a service that exits on TERM, and -HaveExitCode reads the result' {
        $c = PSContainerd\New-TestContainer -RootFs $script:RootFs -Start -Command sh, -c, $script:GracefulService
        $null = Wait-Container -Id $c.Id -Condition Ready -SignalHandled -Timeout 20
        $c | Should -StopGracefully -Within 5
        Get-Container -Id $c.Id | Should -HaveExitCode 0
    }

    It 'Should -StopGracefully fails for a service that ignores TERM, saying it was killed' {
        $c = PSContainerd\New-TestContainer -RootFs $script:RootFs -Start -Command sh, -c, 'trap "" TERM; while :; do sleep 0.1; done'
        $null = Wait-Container -Id $c.Id -Condition Ready -Timeout 20
        { $c | Should -StopGracefully -Within 1 } | Should -Throw "*to stop gracefully within 1 s, but it did not exit on SIGTERM within 1 s and was killed (Kill), exit code 137*"
    }

    It 'Should -StopGracefully takes a StopResult, and -Not inverts it' {
        $c = PSContainerd\New-TestContainer -RootFs $script:RootFs -Start -Command sleep, 100
        $stop = Stop-Container -Id $c.Id -Timeout 1   # sleep as PID 1 has no TERM handler: killed
        $stop | Should -Not -StopGracefully
        { $stop | Should -StopGracefully } | Should -Throw '*was killed*'
        $stop | Should -HaveExitCode 137
        { $stop | Should -HaveExitCode 0 } | Should -Throw "*to have exit code 0, but it has 137*"
    }
}
