# The rules of the chaos harness's extended plan, on small made-up histories (no containerd), each
# both ways: a history that breaks the rule is reported, one that keeps it is not.
BeforeAll {
    . (Join-Path $PSScriptRoot '../Chaos/Invariants.ps1')
    . (Join-Path $PSScriptRoot '../Chaos/ExtendedInvariants.ps1')
    . (Join-Path $PSScriptRoot '../Chaos/Plan.ps1')
    function New-TestCall([int] $N, [string] $Op, [string] $Id, $Arguments, [long] $T0, [long] $T1, $Result = @(), [bool] $Ok = $true) {
        [ordered]@{ k = 'call'; n = $N; op = $Op; id = $Id; args = $Arguments; t0 = $T0; t1 = $T1; ok = $Ok; lost = $false; result = @($Result) }
    }
}

Describe 'Chaos plan with and without the extended operations' {
    It 'leaves the base plan of a seed as it was, draw for draw, and merges the extended operations in by time' {
        $base = New-ChaosPlan -Seed 6 -Seconds 25 -Size 6
        $ext = New-ChaosPlan -Seed 6 -Seconds 25 -Size 6 -Extended
        $base.Contains('Extended') | Should -BeFalse
        $kept = @($ext.Ops | Where-Object { $_.Op -notin 'Exec', 'Recreate', 'Supervisors' })
        ($kept | ConvertTo-Json -Depth 5) | Should -Be ($base.Ops | ConvertTo-Json -Depth 5)
        @($ext.Faults | Where-Object { $_.Kind -notin 'SupervisorFreeze', 'ForeignUser' }) | ConvertTo-Json -Depth 5 | Should -Be ($base.Faults | ConvertTo-Json -Depth 5)
        @($ext.Ops | Where-Object { $_.Op -in 'Exec', 'Recreate', 'Supervisors' }).Count | Should -BeGreaterThan 0
        $times = @($ext.Ops | ForEach-Object { $_.At })
        ($times -join ',') | Should -Be ((@($times | Sort-Object)) -join ',')
    }
}

Describe 'Chaos invariant exec-exit-not-recorded' {
    BeforeEach {
        # exec #5 (ctr, exec id = the container's id) exited 123 while run 2 of cx1 ran on
        $exec = New-TestCall 5 'Exec' 'cx1' @{ Via = 'ctr'; Code = 123 } 4000 4200 @([ordered]@{ Id = 'cx1'; ExitCode = 123 })
    }

    It 'reports an exec''s code recorded as the container''s exit' {
        $exits = @{ cx1 = @([ordered]@{ code = 123; at = 4150; src = 'observer' }) }
        $v = @(Test-ExecExitInvariant @($exec) $exits)
        $v.Count | Should -Be 1
        $v[0].invariant | Should -Be 'exec-exit-not-recorded'
        $v[0].detail | Should -Match 'exec #5'
    }

    It 'accepts the container''s own exits while execs ran' {
        $exits = @{ cx1 = @([ordered]@{ code = 12; at = 9000; src = 'observer' }, [ordered]@{ code = 137; at = 12000; src = 'Stop #7' }) }
        @(Test-ExecExitInvariant @($exec) $exits).Count | Should -Be 0
    }
}

Describe 'Chaos invariant recreated-not-restarted' {
    BeforeEach {
        # Recreate #8 removed cx2 at 5300 and created it again without -Start, returning at 5600
        $recreate = New-TestCall 8 'Recreate' 'cx2' @{ Start = $false } 5000 5600 @([ordered]@{ Id = 'cx2'; Status = 'Created'; RemovedAt = 5300 })
        $runs = @{ cx2 = @(
            [ordered]@{ run = 4; start = 1000; end = 5200 }
            [ordered]@{ run = 5; start = 9000; end = $null }) }
    }

    It 'reports a run of the new container that no start explains' {
        $v = @(Test-RecreateInvariant @($recreate) $runs)
        $v.Count | Should -Be 1
        $v[0].invariant | Should -Be 'recreated-not-restarted'
        $v[0].t | Should -Be 9000
    }

    It 'accepts that run when a start of the container began before it' {
        $start = New-TestCall 9 'Start' 'cx2' @{} 8900 9100
        @(Test-RecreateInvariant @($recreate, $start) $runs).Count | Should -Be 0
    }

    It 'does not take a start that ended before the remove, or a Restore, for one' {
        $old = New-TestCall 7 'Start' 'cx2' @{} 4000 4100
        $restore = New-TestCall 10 'Restore' $null @{} 8800 8950
        @(Test-RecreateInvariant @($old, $recreate, $restore) $runs).Count | Should -Be 1
    }

    It 'leaves alone the runs after the id was removed or created again since' {
        $new = New-TestCall 11 'New' 'cx2' @{ Start = $true } 8000 8500
        @(Test-RecreateInvariant @($recreate, $new) $runs).Count | Should -Be 0
    }
}

Describe 'Chaos invariant one-supervisor' {
    It 'reports two holders through two paths to one socket' {
        $c = New-TestCall 3 'Supervisors' $null @{} 1000 1300 @([ordered]@{ PathA = '4242'; PathB = '5151'; PathA2 = '4242' })
        $v = @(Test-TwoPathInvariant @($c))
        $v.Count | Should -Be 1
        $v[0].invariant | Should -Be 'one-supervisor'
    }

    It 'accepts one holder through both paths, and a handover between the reads' {
        $same = New-TestCall 3 'Supervisors' $null @{} 1000 1300 @([ordered]@{ PathA = '4242'; PathB = '4242'; PathA2 = '4242' })
        $handover = New-TestCall 4 'Supervisors' $null @{} 2000 2300 @([ordered]@{ PathA = '4242'; PathB = '5151'; PathA2 = '5151' })
        @(Test-TwoPathInvariant @($same, $handover)).Count | Should -Be 0
    }

    It 'does not judge reads while the second path named another socket (containerd restarted, the link not yet made again)' {
        $stale = New-TestCall 5 'Supervisors' $null @{} 3000 3300 @([ordered]@{ PathA = '4242'; PathB = '5151'; PathA2 = '4242'; SameSocket = $false })
        $judged = New-TestCall 6 'Supervisors' $null @{} 4000 4300 @([ordered]@{ PathA = '4242'; PathB = '5151'; PathA2 = '4242'; SameSocket = $true })
        $v = @(Test-TwoPathInvariant @($stale, $judged))
        $v.Count | Should -Be 1
        $v[0].detail | Should -Match 'call #6'
    }
}

Describe 'Chaos invariant frozen-holder' {
    BeforeEach {
        # pid 4242, holding the duty, was SIGSTOPped at 10000 and SIGCONTed at 19000
        $faults = @([ordered]@{ k = 'fault'; kind = 'SupervisorFreeze'; t = 10000; t1 = 19000; pid = 4242 })
    }

    It 'reports a frozen holder still shown responding 6 s into the freeze' {
        $probe = New-TestCall 6 'Supervisor' $null @{ Probe = 'frozen'; Fault = 10000; Pid = 4242 } 16100 16400 @([ordered]@{ ProcessId = 4242; Responding = $true })
        $v = @(Test-FreezeInvariant @($probe) $faults)
        $v.Count | Should -Be 1
        $v[0].invariant | Should -Be 'frozen-holder'
    }

    It 'accepts it shown not responding, and responding again after the SIGCONT' {
        $frozen = New-TestCall 6 'Supervisor' $null @{ Probe = 'frozen'; Fault = 10000; Pid = 4242 } 16100 16400 @([ordered]@{ ProcessId = 4242; Responding = $false })
        $thawed = New-TestCall 7 'Supervisor' $null @{ Probe = 'thawed'; Fault = 10000; Pid = 4242 } 22100 22300 @([ordered]@{ ProcessId = 4242; Responding = $true })
        @(Test-FreezeInvariant @($frozen, $thawed) $faults).Count | Should -Be 0
    }

    It 'reports a holder still not responding after the SIGCONT' {
        $thawed = New-TestCall 7 'Supervisor' $null @{ Probe = 'thawed'; Fault = 10000; Pid = 4242 } 22100 22300 @([ordered]@{ ProcessId = 4242; Responding = $false })
        @(Test-FreezeInvariant @($thawed) $faults).Count | Should -Be 1
    }

    It 'does not judge a probe that returned after the SIGCONT as one made during the freeze' {
        $late = New-TestCall 6 'Supervisor' $null @{ Probe = 'frozen'; Fault = 10000; Pid = 4242 } 16100 19500 @([ordered]@{ ProcessId = 4242; Responding = $true })
        @(Test-FreezeInvariant @($late) $faults).Count | Should -Be 0
    }
}

Describe 'Chaos invariant foreign-user-denied' {
    It 'reports what a user without the socket''s access gained in the lock folder' {
        $f = [ordered]@{ k = 'fault'; kind = 'ForeignUser'; t = 3000; pid = 99; gained = @('plant-link', 'flock'); detail = 'as nobody' }
        $v = @(Test-ForeignUserInvariant @($f))
        $v.Count | Should -Be 1
        $v[0].invariant | Should -Be 'foreign-user-denied'
    }

    It 'accepts every attempt refused' {
        $f = [ordered]@{ k = 'fault'; kind = 'ForeignUser'; t = 3000; pid = 99; gained = @(); detail = 'as nobody' }
        @(Test-ForeignUserInvariant @($f)).Count | Should -Be 0
    }
}
