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

Describe 'Chaos invariant true-exit-code after a run that died by a signal' {
    BeforeEach {
        # Run 92 started at 1000 and was SIGKILLed: no exit logged, 137 recorded at 3000. A start
        # at 25000 made a task that a SIGTERM killed before its program ran: runc's init exited 2.
        $runs = @{ cx1 = @([ordered]@{ run = 92; start = 1000; exit = $null; code = $null; term = $false; end = $null }) }
        $exits = @{ cx1 = @([ordered]@{ code = 2; at = 25133; src = 'Start #9707' }, [ordered]@{ code = 137; at = 3000; src = 'Stop #9565' }) }
        Complete-RunEnds $runs $exits
    }

    It 'ends the run at its earliest recorded exit, whatever order the exits were seen in' {
        $runs.cx1[0].end | Should -Be 3000
    }

    It 'leaves alone a code no run''s program exits with, when a start call began since the run ended' {
        $start = [ordered]@{ n = 9707; op = 'Start'; id = 'cx1'; args = @{}; t0 = 25000; t1 = 25140; ok = $true; lost = $false; result = @() }
        @(Test-ExitInvariant $runs $exits @() @{} @($start)).Count | Should -Be 0
    }

    It 'still reports that code when no start call came since' {
        $v = @(Test-ExitInvariant $runs $exits @() @{} @())
        $v.Count | Should -Be 1
        $v[0].invariant | Should -Be 'true-exit-code'
    }
}

Describe 'Chaos last decisive call' {
    It 'takes the calls in the order they began, not the order they are listed in' {
        # ordered dictionaries, as the harness records calls; the Restart that began first is listed last
        $calls = @(
            [ordered]@{ n = 3; op = 'Stop'; id = 'cx7'; args = @{}; t0 = 5000; t1 = 5005; ok = $true; lost = $false }
            [ordered]@{ n = 2; op = 'Signal'; id = 'cx7'; args = @{ Signal = 'SIGTERM' }; t0 = 3000; t1 = 3040; ok = $true; lost = $false }
        )
        foreach ($i in 4..40) { $calls += [ordered]@{ n = $i; op = 'Get'; id = 'cx7'; args = @{}; t0 = 6000 + $i; t1 = 6001 + $i; ok = $true; lost = $false } }
        $calls += [ordered]@{ n = 1; op = 'Restart'; id = 'cx7'; args = @{}; t0 = 1000; t1 = 1100; ok = $true; lost = $false }
        Get-LastDecision $calls 'cx7' | Should -Be 'stop'
        Get-LastDecision ($calls + [ordered]@{ n = 41; op = 'Start'; id = 'cx7'; args = @{}; t0 = 7000; t1 = 7100; ok = $true; lost = $false }) 'cx7' | Should -Be 'start'
    }
}

Describe 'Chaos invariant stopped-stays-stopped' {
    BeforeEach {
        # Stop #20 of cx1 ran from 5000 to 5100 and answered Stopped; run 3 started at 6000.
        $stop = [ordered]@{ n = 20; op = 'Stop'; id = 'cx1'; args = @{}; t0 = 5000; t1 = 5100; lost = $false; result = @([ordered]@{ Outcome = 'Stopped' }) }
        $runs = @{ cx1 = @([ordered]@{ run = 3; start = 6000; exit = $null; code = $null; term = $false; end = $null }) }
    }

    It 'reports a run after the stop that no start explains' {
        $v = @(Test-StopInvariant @($stop) $runs 10000)
        $v.Count | Should -Be 1
        $v[0].invariant | Should -Be 'stopped-stays-stopped'
    }

    It 'accepts that run when a start of the same container began before it' {
        $start = [ordered]@{ n = 21; op = 'Start'; id = 'cx1'; args = @{}; t0 = 5900; t1 = 6100; lost = $false; result = @() }
        @(Test-StopInvariant @($stop, $start) $runs 10000).Count | Should -Be 0
    }

    It 'does not take a start of another container, or a New without -Start, for one' {
        $other = [ordered]@{ n = 22; op = 'Start'; id = 'cx2'; args = @{}; t0 = 5900; t1 = 6100; lost = $false; result = @() }
        $new = [ordered]@{ n = 23; op = 'New'; id = 'cx1'; args = @{ Start = $false }; t0 = 5900; t1 = 6100; lost = $false; result = @() }
        @(Test-StopInvariant @($stop, $other, $new) $runs 10000).Count | Should -Be 1
    }

    It 'judges each run by the earliest start that had not ended before the stop began' {
        # A start that ended before the stop began explains nothing after it; a start made after
        # run 3 began explains run 4 and not run 3.
        $before = [ordered]@{ n = 19; op = 'Start'; id = 'cx1'; args = @{}; t0 = 4000; t1 = 4500; lost = $false; result = @() }
        $later = [ordered]@{ n = 24; op = 'Restart'; id = 'cx1'; args = @{}; t0 = 7000; t1 = 7300; lost = $false; result = @() }
        $runs.cx1 += [ordered]@{ run = 4; start = 7200; exit = $null; code = $null; term = $false; end = $null }
        $v = @(Test-StopInvariant @($before, $stop, $later) $runs 10000)
        $v.Count | Should -Be 1
        $v[0].t | Should -Be 6000
    }
}

Describe 'Chaos invariant restart-policy' {
    BeforeEach {
        $spec = @{ Id = 'cx7'; Policy = 'on-failure:1' }
        # Run 1 from the setup; run 2 by policy; Start at 18865..19055, frozen by a Suspend at once;
        # run 3 logs its start at the Resume (22632); run 4 is a policy restart after it.
        $runs = @{ cx7 = @(
            [ordered]@{ run = 1; start = 1000; end = 2000 }
            [ordered]@{ run = 2; start = 2500; end = 3000 }
            [ordered]@{ run = 3; start = 22632; end = 24000 }
            [ordered]@{ run = 4; start = 24902; end = 26000 }) }
        $start = [ordered]@{ n = 1; op = 'Start'; id = 'cx7'; args = @{}; t0 = 18865; t1 = 19055; ok = $true; lost = $false; result = @() }
        $resume = [ordered]@{ n = 2; op = 'Resume'; id = 'cx7'; args = @{}; t0 = 22635; t1 = 22668; ok = $true; lost = $false; result = @() }
    }

    It 'takes a run that logged its start at a Resume for the start call''s run, not a policy restart' {
        @(Test-PolicyInvariant @($start, $resume) $runs @($spec) @{}).Count | Should -Be 0
    }

    It 'still counts that run as a policy restart when no start call came since the run before' {
        $v = @(Test-PolicyInvariant @($resume) $runs @($spec) @{})
        $v.Count | Should -BeGreaterThan 0
        $v[0].invariant | Should -Be 'restart-policy'
    }

    It 'counts the runs it takes for restarts by policy' {
        $tally = @{ PolicyRestarts = 0 }
        $null = Test-PolicyInvariant @($start, $resume) $runs @($spec) @{} $tally
        $tally.PolicyRestarts | Should -Be 2   # runs 2 and 4; run 1 is the setup's, run 3 the Start's
    }
}

Describe 'Chaos run times from the containers'' uptime' {
    It 'converts with the anchor taken closest before, as the wall clock can be stepped while uptime runs on' {
        # the wall clock was stepped 100 ms ahead between the two anchors
        $anchors = [System.Collections.Generic.List[double[]]]::new()
        $anchors.Add([double[]] @(100.0, 1000000))
        $anchors.Add([double[]] @(200.0, 1100100))
        ConvertFrom-Uptime $anchors 150.25 | Should -Be 1050250
        ConvertFrom-Uptime $anchors 200.5 | Should -Be 1100600
        ConvertFrom-Uptime $anchors 50 | Should -Be 950000   # before the first anchor: the first one
    }
}
