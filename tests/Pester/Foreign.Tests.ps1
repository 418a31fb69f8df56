# Containers the module did not make: made by `ctr run IMAGE` (containerd's own client) from an
# image in containerd's store, as a host's other tools make them. The image comes from
# tests/Fixtures/foreign-image.sh.

BeforeAll {
    . $PSScriptRoot/TestHelpers.ps1
    Assert-TestEnvironment
    Import-ModuleUnderTest
    $script:Ns = "pester-foreign-$([guid]::NewGuid().ToString('N').Substring(0, 6))"
    $script:Image = (& bash "$PSScriptRoot/../Fixtures/foreign-image.sh" $env:CONTAINERD_ADDRESS $Ns $env:PSCD_TEST_ROOTFS | Select-Object -Last 1)
    if ($LASTEXITCODE -ne 0) { throw "foreign-image.sh failed ($LASTEXITCODE)" }
    $script:Made = [Collections.Generic.List[string]]::new()

    # ctr on the suite's namespace; throws when ctr fails.
    function script:Invoke-Ctr {
        $out = & timeout 60 ctr --address $env:CONTAINERD_ADDRESS -n $Ns @args 2>&1
        if ($LASTEXITCODE -ne 0) { throw "ctr $($args -join ' ') failed ($LASTEXITCODE): $out" }
        $out
    }

    # `ctr run -d [--label L]... IMAGE ID sh -c SCRIPT`: a running container the module did not make.
    function script:New-CtrContainer([string] $Prefix, [string] $Script = 'trap "exit 0" TERM; while true; do sleep 0.1; done', [string[]] $Label = @()) {
        $id = New-TestId $Prefix
        $Made.Add($id)
        $labels = foreach ($l in $Label) { '--label'; $l }
        Invoke-Ctr run -d @labels $Image $id sh -c $Script | Out-Null
        Wait-Condition -Because "$id runs" { (Get-Container -Namespace $Ns -Id $id).Status -eq 'Running' } | Out-Null
        Wait-ContainerTrap -Id $id -Namespace $Ns
        $id
    }
}

AfterAll {
    foreach ($id in $Made) {
        # containerd's restart monitor would start it again
        & ctr --address $env:CONTAINERD_ADDRESS -n $Ns containers label $id 'containerd.io/restart.status=' 2>$null
        & ctr --address $env:CONTAINERD_ADDRESS -n $Ns tasks kill -a -s SIGKILL $id 2>$null
        Wait-Condition -TimeoutSeconds 10 -Because "$id's task stopped" {
            & ctr --address $env:CONTAINERD_ADDRESS -n $Ns tasks delete -f $id 2>&1 | Out-Null
            -not ((& ctr --address $env:CONTAINERD_ADDRESS -n $Ns tasks ls -q) -contains $id)
        } -ErrorAction SilentlyContinue | Out-Null
        & ctr --address $env:CONTAINERD_ADDRESS -n $Ns containers delete $id 2>$null
    }
}

Describe 'Containers made by ctr run from an image' {
    It 'go through Stop, Start, Restart, Wait and Restore, and ctr can start them afterwards' {
        $id = New-CtrContainer 'img'

        (Stop-Container -Namespace $Ns -Id $id -Timeout 5).Outcome | Should -Be 'Stopped'
        (Start-Container -Namespace $Ns -Id $id).Status | Should -Be 'Running'
        Wait-ContainerTrap -Id $id -Namespace $Ns
        (Restart-Container -Namespace $Ns -Id $id -Timeout 5).Status | Should -Be 'Running'

        Invoke-Ctr tasks kill -s SIGKILL $id | Out-Null
        (Wait-Container -Namespace $Ns -Id $id -Condition NotRunning -Timeout 30).ExitCode | Should -Be 137

        (Restore-ContainerState -Namespace $Ns -Id $id).Action | Should -Not -Be 'Restarted'

        & ctr --address $env:CONTAINERD_ADDRESS -n $Ns tasks delete $id 2>$null
        Invoke-Ctr tasks start -d $id | Out-Null
        (Get-Container -Namespace $Ns -Id $id).Status | Should -Be 'Running'
    }
}

Describe 'Containers the module does not manage' {
    It 'Wait-Container and Get-Container only read a container ctr made: its stopped task and labels stay' {
        $id = New-CtrContainer 'ro' -Script 'trap "exit 3" TERM; while true; do sleep 0.1; done'
        (Get-Container -Namespace $Ns -Id $id).Managed | Should -BeFalse

        Invoke-Ctr tasks kill -s SIGTERM $id | Out-Null
        (Wait-Container -Namespace $Ns -Id $id -Timeout 30).ExitCode | Should -Be 3
        (Get-Container -Namespace $Ns -Id $id).ExitCode | Should -Be 3

        (Invoke-Ctr tasks ls) -match "^$id\s.*STOPPED" | Should -Not -BeNullOrEmpty
        (Get-Container -Namespace $Ns -Id $id).Labels.Keys -like 'pscontainerd/*' | Should -BeNullOrEmpty
    }

    It 'Restore-ContainerState reports a container ctr made and changes nothing; -WhatIf says what -Adopt would do; -Adopt takes it over' {
        $id = New-TestId 'rst'
        $Made.Add($id)
        Invoke-Ctr run -d $Image $id sh -c 'exit 3' | Out-Null
        Wait-Condition -Because "$id's task exited" { (Invoke-Ctr tasks ls) -match "^$id\s.*STOPPED" } | Out-Null

        $r = Restore-ContainerState -Namespace $Ns -Id $id
        $r.Action | Should -Be 'Unchanged'
        $r.ExitCode | Should -Be 3
        $r.Detail | Should -Match 'not managed'
        (Invoke-Ctr tasks ls) -match "^$id\s.*STOPPED" | Should -Not -BeNullOrEmpty
        (Get-Container -Namespace $Ns -Id $id).Labels.Keys -like 'pscontainerd/*' | Should -BeNullOrEmpty

        $child = Start-ChildSession "Restore-ContainerState -Id $id -Adopt -WhatIf; Restore-ContainerState -Id $id -WhatIf" -Namespace $Ns
        $out = $child.StandardOutput.ReadToEnd()
        $child.WaitForExit(60000) | Should -BeTrue
        $out | Should -Match 'adopt it.*delete its stopped task, record exit code 3'
        $out | Should -Match 'report only: not managed'
        (Invoke-Ctr tasks ls) -match "^$id\s.*STOPPED" | Should -Not -BeNullOrEmpty

        $a = Restore-ContainerState -Namespace $Ns -Id $id -Adopt
        $a.Action | Should -Be 'RecordedExit'
        $a.ExitCode | Should -Be 3
        $info = Get-Container -Namespace $Ns -Id $id
        $info.Managed | Should -BeTrue
        $info.Labels['pscontainerd/exit-code'] | Should -Be '3'
    }

    It 'Stop-Container adopts a container ctr made and says so in its steps' {
        $id = New-CtrContainer 'adopt'
        $stop = Stop-Container -Namespace $Ns -Id $id -Timeout 5
        $stop.Outcome | Should -Be 'Stopped'
        @($stop.Steps | Where-Object Kind -eq 'Adopted').Count | Should -Be 1
        $info = Get-Container -Namespace $Ns -Id $id
        $info.Managed | Should -BeTrue
        $info.AdoptedAt | Should -Not -BeNullOrEmpty
    }
}

Describe "Containers containerd's restart monitor restarts" {
    It "shows containerd's policy, and a stop is not undone by containerd's monitor; a start hands the container back to it" {
        # The status label once the task runs: given to ctr run, containerd's monitor may create
        # the task before ctr does, and ctr's own create then fails.
        $id = New-CtrContainer 'mon' -Label 'containerd.io/restart.policy=always'
        Invoke-Ctr containers label $id 'containerd.io/restart.status=running' | Out-Null
        $info = Get-Container -Namespace $Ns -Id $id
        $info.RestartPolicy | Should -Be 'always'
        $info.RestartPolicySource | Should -Be 'containerd'

        (Stop-Container -Namespace $Ns -Id $id -Timeout 5).Outcome | Should -Be 'Stopped'
        (Get-Container -Namespace $Ns -Id $id).Labels['containerd.io/restart.status'] | Should -Be 'stopped'
        # The fixture's containerd looks every second: four looks, and the task must still be gone.
        $deadline = [datetime]::UtcNow.AddSeconds(4)
        while ([datetime]::UtcNow -lt $deadline) {
            (Get-Container -Namespace $Ns -Id $id).Status | Should -Be 'Stopped' -Because "containerd's restart monitor must not undo the stop"
            Start-Sleep -Milliseconds 100
        }

        (Start-Container -Namespace $Ns -Id $id).Status | Should -Be 'Running'
        (Get-Container -Namespace $Ns -Id $id).Labels['containerd.io/restart.status'] | Should -Be 'running'
    }
}

Describe "dockerd's containers (namespace moby)" {
    BeforeAll {
        & bash "$PSScriptRoot/../Fixtures/foreign-image.sh" $env:CONTAINERD_ADDRESS moby $env:PSCD_TEST_ROOTFS docker.io/library/pscd-busybox-quit:latest | Out-Null
        $script:MobyId = New-TestId 'moby'
        & timeout 60 ctr --address $env:CONTAINERD_ADDRESS -n moby containers create docker.io/library/pscd-busybox-quit:latest $MobyId sh | Out-Null
    }
    AfterAll {
        & ctr --address $env:CONTAINERD_ADDRESS -n moby containers delete $MobyId 2>$null
    }

    It 'show the stop signal the record holds and an unknown stop timeout, not the defaults' {
        $info = Get-Container -Namespace moby -Id $MobyId
        $info.StopSignal | Should -Be 'SIGQUIT'
        $info.StopTimeout | Should -BeNullOrEmpty
    }
}
