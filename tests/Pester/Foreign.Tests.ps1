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
