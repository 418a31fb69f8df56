# Tab completion: -Id from the engine, -Signal/-StopSignal names, -Namespace from containerd, and
# Get-ContainerEvent -Type as a fixed set. Through TabExpansion2, as the console asks.

BeforeAll {
    . $PSScriptRoot/TestHelpers.ps1
    Assert-TestEnvironment
    Import-ModuleUnderTest
    $script:SavedNamespace = $env:CONTAINERD_NAMESPACE
    $env:CONTAINERD_NAMESPACE = 'pester-tab'
    $script:RootFs = $env:PSCD_TEST_ROOTFS

    function Get-Completion([string] $Line) {
        (TabExpansion2 -inputScript $Line -cursorColumn $Line.Length).CompletionMatches
    }
}

AfterAll {
    Get-Container | Remove-Container -Force -ErrorAction SilentlyContinue
    $env:CONTAINERD_NAMESPACE = $script:SavedNamespace # later test files in this process expect theirs
}

Describe 'Argument completion' {
    It 'completes -Id with the ids that start with what was typed, the status as tooltip' {
        $base = New-TestId 'tab'
        New-Container -Id "$base-run" -RootFs $RootFs -Command sleep, 1000 -Start | Out-Null
        New-Container -Id "$base-new" -RootFs $RootFs | Out-Null
        New-Container -Id "other-$base" -RootFs $RootFs | Out-Null
        foreach ($cmd in 'Stop-Container', 'Remove-Container', 'Get-Container', 'Wait-Container', 'Send-ContainerSignal') {
            $m = Get-Completion "$cmd -Id $base"
            $m.CompletionText | Sort-Object | Should -Be "$base-new", "$base-run" -Because $cmd
        }
        $m = Get-Completion "Stop-Container -Id $base-r"
        $m.ToolTip | Should -BeLike '*Running*'
        (Get-Completion "Stop-Container -Id $base-n").ToolTip | Should -BeLike '*Created*'
    }

    It 'completes -Id from the -Namespace on the command line' {
        $id = New-TestId 'tabns'
        try {
            New-Container -Namespace 'pester-tab-other' -Id $id -RootFs $RootFs | Out-Null
            (Get-Completion "Get-Container -Namespace pester-tab-other -Id $id").CompletionText | Should -Be $id
            Get-Completion "Get-Container -Id $id" | Should -BeNullOrEmpty
        } finally {
            Get-Container -Namespace 'pester-tab-other' | Remove-Container -Force -ErrorAction SilentlyContinue
        }
    }

    It 'completes -Namespace with containerd''s namespaces' {
        New-Container -Id (New-TestId 'tabn') -RootFs $RootFs | Out-Null
        (Get-Completion 'Get-Container -Namespace pester-ta').CompletionText | Should -Contain 'pester-tab'
    }

    It 'completes -Signal and -StopSignal with signal names, with or without SIG' {
        (Get-Completion 'Stop-Container -Id x -Signal TE').CompletionText | Should -Be 'SIGTERM'
        (Get-Completion 'Send-ContainerSignal -Id x -Signal SIGUS').CompletionText | Should -Be 'SIGUSR1', 'SIGUSR2'
        (Get-Completion 'New-Container -Id x -RootFs / -StopSignal QU').CompletionText | Should -Be 'SIGQUIT'
    }

    It 'offers nothing, and no error, when containerd is not there' {
        Get-Completion "Stop-Container -Address $TestDrive/none.sock -Id a" -ErrorVariable err | Should -BeNullOrEmpty
        $err | Should -BeNullOrEmpty
    }

    It 'completes Get-ContainerEvent -Type from its set, and refuses a type not in it' {
        (Get-Completion 'Get-ContainerEvent -Type Ex').CompletionText | Should -Contain 'Exit'
        { Get-ContainerEvent -Type Bogus -Timeout 0 -ErrorAction Stop } | Should -Throw -ErrorId 'ParameterArgumentValidationError*'
    }
}
