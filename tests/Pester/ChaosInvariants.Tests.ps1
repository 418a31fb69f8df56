# The chaos harness's rules, on small made-up histories (no containerd): a rule that cannot fail
# proves nothing, and one that fires on a correct history hides the real defects behind noise.
BeforeAll {
    . (Join-Path $PSScriptRoot '../Chaos/Invariants.ps1')
}

Describe 'Chaos invariant true-exit-code' {
    BeforeEach {
        # Run 52 started at 1000 and logged its own exit (code 62) at 3000.
        $runs = @{ cx1 = @([ordered]@{ run = 52; start = 1000; exit = 3000; code = 62; term = $false; end = 3000 }) }
        $faults = @()
    }

    It 'accepts the code the run logged' {
        $exits = @{ cx1 = @([ordered]@{ code = 62; at = 3000; src = 'observer' }) }
        @(Test-ExitInvariant $runs $exits $faults).Count | Should -Be 0
    }

    It 'reports a code that is not the run''s' {
        $exits = @{ cx1 = @([ordered]@{ code = 2; at = 3000; src = 'observer' }) }
        $v = @(Test-ExitInvariant $runs $exits $faults)
        $v.Count | Should -Be 1
        $v[0].invariant | Should -Be 'true-exit-code'
    }

    It 'leaves alone the exit of a task seen created and never started after the run ended' {
        $exits = @{ cx1 = @([ordered]@{ code = 57; at = 60000; src = 'observer' }) }
        $created = @{ cx1 = @([long] 59900) }
        @(Test-ExitInvariant $runs $exits $faults $created).Count | Should -Be 0
    }

    It 'still reports that exit when no created task was seen' {
        $exits = @{ cx1 = @([ordered]@{ code = 57; at = 60000; src = 'observer' }) }
        @(Test-ExitInvariant $runs $exits $faults @{}).Count | Should -Be 1
    }

    It 'leaves alone a code no run''s program exits with, after the run''s own exit' {
        $exits = @{ cx1 = @([ordered]@{ code = 2; at = 3850; src = 'observer' }) }
        @(Test-ExitInvariant $runs $exits $faults @{}).Count | Should -Be 0
    }
}
