# The module across hosts over PowerShell remoting via SSH, against the fleet build.ps1 starts
# (tests/Fixtures/fleetenv.sh): each host its own containerd and its own sshd on 127.0.0.N, whose
# pwsh subsystem lands on that host's containerd with the built module installed. Results come
# back deserialized, as they do from real hosts; the test process also imports the module and
# reaches each host's containerd directly (-Address) to set up and check.

BeforeAll {
    . $PSScriptRoot/TestHelpers.ps1
    foreach ($name in 'PSCD_FLEET_HOSTS', 'PSCD_FLEET_PORT', 'PSCD_FLEET_KEY', 'PSCD_FLEET_KNOWN_HOSTS', 'PSCD_FLEET_SOCKETS', 'PSCD_FLEET_ROOTFS', 'PSCD_FLEET_DIR') {
        if (-not [Environment]::GetEnvironmentVariable($name)) {
            throw "$name is not set: run the suite through build.ps1 -Task Test (tests/Fixtures/fleetenv.sh starts the fleet)."
        }
    }
    Import-ModuleUnderTest
    $script:Fixture = if ($env:PSCD_FLEET_FIXTURE) { $env:PSCD_FLEET_FIXTURE } else { Join-Path $PSScriptRoot '../Fixtures/fleetenv.sh' }
    $script:Example = Join-Path $PSScriptRoot '../../examples/Invoke-RollingMaintenance.ps1'
    $script:Hosts = @($env:PSCD_FLEET_HOSTS -split ',')
    $script:Sockets = @($env:PSCD_FLEET_SOCKETS -split ',')
    $script:RootFs = @($env:PSCD_FLEET_ROOTFS -split ',')
    $script:Ssh = @{
        Port        = [int] $env:PSCD_FLEET_PORT
        UserName    = 'root'
        KeyFilePath = $env:PSCD_FLEET_KEY
        Options     = @{ UserKnownHostsFile = $env:PSCD_FLEET_KNOWN_HOSTS; StrictHostKeyChecking = 'yes' }
    }
    $script:IgnoresTerm = @('/bin/sleep', '1000')

    # The first non-empty line of what the formatter makes of $InputObject, colours removed.
    function Get-FormattedHeader($InputObject) {
        (($InputObject | Out-String -Width 250) -replace '\e\[[0-9;]*m', '') -split "`n" |
            Where-Object { $_.Trim() } | Select-Object -First 1
    }

    # Starts a container on host $HostIndex (0-based) through its containerd directly.
    function New-FleetContainer([int] $HostIndex, [string] $Prefix, [string] $RootFs = $script:RootFs[$HostIndex]) {
        $id = New-TestId $Prefix
        New-Container -Address $script:Sockets[$HostIndex] -Id $id -RootFs $RootFs -Command $script:IgnoresTerm -StopTimeout 1 -Start | Out-Null
        $id
    }

    function Get-FleetContainer([int] $HostIndex) {
        @(Get-Container -Address $script:Sockets[$HostIndex] -ErrorAction SilentlyContinue)
    }

    # Each host's folder (where a maintenance block leaves its mark).
    function Get-HostDir([int] $HostIndex) { Split-Path -Parent $script:Sockets[$HostIndex] }

    function Clear-Fleet {
        for ($i = 0; $i -lt $script:Sockets.Count; $i++) {
            Get-FleetContainer $i | Remove-Container -Address $script:Sockets[$i] -Force -ErrorAction Continue
            Remove-Item -LiteralPath (Join-Path (Get-HostDir $i) 'maintained'), (Join-Path (Get-HostDir $i) 'rootfs-broken') `
                -Recurse -Force -ErrorAction SilentlyContinue
        }
    }
}

AfterAll {
    if ($script:Sockets) { Clear-Fleet }
}

Describe 'Fleet' {
    AfterEach { Clear-Fleet }

    Context 'over open sessions' {
        BeforeAll {
            # New-PSSession connects in parallel and returns the sessions in the order they opened:
            # put them in host order, so $Sessions[i] is host i (New-FleetContainer i)
            $opened = @(New-PSSession -HostName $script:Hosts @script:Ssh -ErrorAction Stop)
            $script:Sessions = @(foreach ($h in $script:Hosts) { $opened | Where-Object ComputerName -eq $h })
            $script:Sessions.Count | Should -Be $script:Hosts.Count
        }
        AfterAll {
            if ($script:Sessions) { Remove-PSSession -Session $script:Sessions -ErrorAction SilentlyContinue }
        }

        It 'a fan-out stop of 5 containers on each of 3 hosts returns 15 typed results tagged with their host' {
            $created = @{}
            for ($i = 0; $i -lt 3; $i++) { $created[$script:Hosts[$i]] = @(1..5 | ForEach-Object { New-FleetContainer $i 'fan' }) }

            $results = @(Invoke-Command -Session $script:Sessions -ThrottleLimit 3 {
                Get-Container -Id 'fan-*' | Stop-Container -Timeout 1 -ThrottleLimit 5
            })

            $results.Count | Should -Be 15
            foreach ($r in $results) {
                $r.PSTypeNames[0] | Should -Be 'Deserialized.PSContainerd.StopResult'
                $r.Outcome | Should -Be 'Stopped'
                $r.ExitCode | Should -Be 137
                $r.Escalation | Should -Be 'Kill'
            }
            $byHost = $results | Group-Object PSComputerName
            ($byHost.Name | Sort-Object) | Should -Be ($script:Hosts | Sort-Object)
            foreach ($g in $byHost) {
                ($g.Group.Id | Sort-Object) | Should -Be ($created[$g.Name] | Sort-Object) -Because "$($g.Name) stopped its own five"
            }
            for ($i = 0; $i -lt 3; $i++) {
                (Get-FleetContainer $i).Status | Should -Be (@('Stopped') * 5)
            }
            # the module's table view applies to the deserialized results
            Get-FormattedHeader $results | Should -Match '^Id\s+Outcome\s.*\sPSComputerName\s*$' -Because 'the table view, with the host as its last column'
        }

        It 'Steps and Labels arrive as objects, enums as names' {
            $id = New-FleetContainer 0 'steps'
            $r = Invoke-Command -Session $script:Sessions[0] {
                Stop-Container -Id $using:id -Timeout 0
                Get-Container -Id $using:id
            }
            $stop, $info = $r
            $stop.Steps.Count | Should -BeGreaterThan 3
            $stop.Steps[0].PSTypeNames[0] | Should -Be 'Deserialized.PSContainerd.StopStep'
            $stop.Steps[0].At | Should -BeOfType ([datetime])
            $stop.Steps.Action | Should -Contain 'kill'
            ($stop.Steps | Where-Object Action -eq 'exited').Detail | Should -Be 'exit code 137'
            $stop.Duration | Should -BeOfType ([timespan])
            $stop.Outcome | Should -BeOfType ([string])
            $info.Status | Should -Be 'Stopped'
            $info.Labels | Should -BeOfType ([hashtable])
            $info.Labels['pscontainerd/state'] | Should -Be 'stopped'
            Get-FormattedHeader $stop.Steps | Should -Match '^At\s+Action\s+Detail'
        }

        It 'an ErrorRecord from a host keeps its FullyQualifiedErrorId and names the host' {
            $errs = @()
            $out = Invoke-Command -Session $script:Sessions -ErrorAction SilentlyContinue -ErrorVariable errs {
                Stop-Container -Id 'no-such-fleet-container'
            }
            $out | Should -BeNullOrEmpty
            $errs.Count | Should -Be 3
            foreach ($e in $errs) {
                $e.FullyQualifiedErrorId | Should -Be 'ContainerNotFound,PSContainerd.Commands.StopContainerCommand'
                $e.CategoryInfo.Category | Should -Be 'ObjectNotFound'
                $e.TargetObject | Should -Be 'no-such-fleet-container'
            }
            ($errs.OriginInfo.PSComputerName | Sort-Object) | Should -Be ($script:Hosts | Sort-Object)
        }
    }

    It 'the serializer of Start-Job and remoting keeps Steps as objects and enums as names (CliXml, default depth)' {
        $id = New-FleetContainer 0 'clixml'
        $local = Stop-Container -Address $script:Sockets[0] -Id $id -Timeout 0
        $xml = [System.Management.Automation.PSSerializer]::Serialize($local)
        $r = [System.Management.Automation.PSSerializer]::Deserialize($xml)
        $r.PSTypeNames[0] | Should -Be 'Deserialized.PSContainerd.StopResult'
        $r.Steps.Count | Should -Be $local.Steps.Count
        $r.Steps[0].PSTypeNames[0] | Should -Be 'Deserialized.PSContainerd.StopStep'
        $r.Steps[0].At | Should -Be $local.Steps[0].At
        $r.Outcome | Should -BeOfType ([string])
        $r.Outcome | Should -Be 'Stopped'
        $r.Escalation | Should -Be 'Kill'
    }

    It 'a host whose sshd is down gives its own error; the other two hosts are done' {
        $ids = @(0..2 | ForEach-Object { New-FleetContainer $_ 'down' })
        & bash $script:Fixture stop-sshd $env:PSCD_FLEET_DIR 2
        try {
            $errs = @()
            $results = @(Invoke-Command -HostName $script:Hosts @script:Ssh -ErrorAction SilentlyContinue -ErrorVariable errs {
                Get-Container -Id 'down-*' | Stop-Container -Timeout 1
            })
        } finally {
            & bash $script:Fixture start-sshd $env:PSCD_FLEET_DIR 2
        }
        $results.Count | Should -Be 2
        ($results.PSComputerName | Sort-Object) | Should -Be @($script:Hosts[0], $script:Hosts[2])
        $results.Outcome | Should -Be @('Stopped', 'Stopped')
        $errs.Count | Should -Be 1
        $errs[0].TargetObject | Should -Be $script:Hosts[1]
        $errs[0].FullyQualifiedErrorId | Should -Be 'PSSessionStateBroken'
        $errs[0].CategoryInfo.Category | Should -Be 'OpenError'
        (Get-FleetContainer 1).Status | Should -Be 'Running' -Because "$($ids[1]) is on the unreachable host"
    }

    Context 'Invoke-RollingMaintenance.ps1' {
        It 'has help: a synopsis, every parameter described, examples' {
            $help = Get-Help $script:Example -Full
            $help.Synopsis | Should -Match 'maintenance'
            $params = (Get-Command $script:Example).Parameters.Keys |
                Where-Object { $_ -notin [System.Management.Automation.PSCmdlet]::CommonParameters -and $_ -notin [System.Management.Automation.PSCmdlet]::OptionalCommonParameters }
            foreach ($p in $params) {
                ($help.parameters.parameter | Where-Object name -eq $p).description.Text | Should -Not -BeNullOrEmpty -Because "-$p needs a .PARAMETER entry"
            }
            @($help.examples.example).Count | Should -BeGreaterThan 0
        }

        It 'rolls host by host and halts at the host whose container refuses to start, leaving the third untouched' {
            $before = @{}
            for ($i = 0; $i -lt 3; $i++) { 1..2 | ForEach-Object { $null = New-FleetContainer $i 'roll' } }
            # on the second host, a container whose root filesystem the maintenance removes
            $broken = Join-Path (Get-HostDir 1) 'rootfs-broken'
            Copy-Item -LiteralPath $script:RootFs[1] -Destination $broken -Recurse
            $doomed = New-FleetContainer 1 'roll' -RootFs $broken
            for ($i = 0; $i -lt 3; $i++) { $before[$i] = Get-FleetContainer $i }
            $mark = 'maintained'

            $results = @(& $script:Example -HostName $script:Hosts @script:Ssh -MinReadySeconds 1 -Confirm:$false -Maintenance {
                Set-Content -LiteralPath (Join-Path (Split-Path $env:CONTAINERD_ADDRESS) $using:mark) -Value $env:PSCD_FLEET_HOST
                $broken = Join-Path (Split-Path $env:CONTAINERD_ADDRESS) 'rootfs-broken'
                if (Test-Path -LiteralPath $broken) { Remove-Item -LiteralPath $broken -Recurse -Force }
                "maintained $env:PSCD_FLEET_HOST"
            })

            $results.Count | Should -Be 3
            $results | ForEach-Object { $_.GetType().Name | Should -Be 'RollingMaintenanceResult' }
            $results.HostName | Should -Be $script:Hosts
            $results.Status | Should -Be @('Completed', 'Failed', 'Skipped')

            $first, $second, $third = $results
            ($first.Containers | Sort-Object) | Should -Be ($before[0].Id | Sort-Object)
            $first.StopResults.Outcome | Should -Be @('Stopped', 'Stopped')
            $first.MaintenanceOutput | Should -Be 'maintained h1'
            $after = Get-FleetContainer 0
            $after.Status | Should -Be @('Running', 'Running')
            foreach ($c in $after) {
                $c.Pid | Should -Not -Be ($before[0] | Where-Object Id -eq $c.Id).Pid -Because "$($c.Id) was stopped and started again"
            }

            $second.FailedStep | Should -Be 'Start'
            $second.NotRunning | Should -Be $doomed
            $second.Containers.Count | Should -Be 3
            $second.Errors.Count | Should -Be 1
            $second.Errors[0].FullyQualifiedErrorId | Should -BeLike '*,PSContainerd.Commands.StartContainerCommand'
            $second.Errors[0].OriginInfo.PSComputerName | Should -Be $script:Hosts[1]
            $statuses = @{}; Get-FleetContainer 1 | ForEach-Object { $statuses[$_.Id] = "$($_.Status)" }
            $statuses[$doomed] | Should -Be 'Stopped'
            @($statuses.Values | Where-Object { $_ -eq 'Running' }).Count | Should -Be 2

            $third.Containers | Should -BeNullOrEmpty
            $third.StopResults | Should -BeNullOrEmpty
            Test-Path (Join-Path (Get-HostDir 2) 'maintained') | Should -BeFalse -Because 'the roll halted before the third host'
            $untouched = Get-FleetContainer 2
            $untouched.Status | Should -Be @('Running', 'Running')
            ($untouched.Pid | Sort-Object) | Should -Be ($before[2].Pid | Sort-Object)
        }

        It '-WhatIf shows the plan per host and changes nothing' {
            $a = New-FleetContainer 0 'plan'
            $b = New-FleetContainer 2 'plan'
            $pids = @((Get-FleetContainer 0).Pid) + @((Get-FleetContainer 2).Pid)
            $transcript = Join-Path ([IO.Path]::GetTempPath()) "pscd-whatif-$([guid]::NewGuid().ToString('N')).txt"
            Start-Transcript -LiteralPath $transcript -UseMinimalHeader | Out-Null
            try {
                $out = & $script:Example -HostName $script:Hosts[0], $script:Hosts[2] @script:Ssh -BatchSize 2 -WhatIf -Maintenance {
                    Set-Content -LiteralPath (Join-Path (Split-Path $env:CONTAINERD_ADDRESS) 'maintained') -Value 'should not run'
                }
            } finally {
                Stop-Transcript | Out-Null
            }
            $text = Get-Content -LiteralPath $transcript -Raw
            Remove-Item -LiteralPath $transcript -Force
            $out | Should -BeNullOrEmpty
            $text | Should -Match ([regex]::Escape("stop 1 running container(s) ($a)") + '.*' + [regex]::Escape("$($script:Hosts[0]) (batch 1 of 1)"))
            $text | Should -Match ([regex]::Escape("stop 1 running container(s) ($b)") + '.*' + [regex]::Escape("$($script:Hosts[2]) (batch 1 of 1)"))
            @((Get-FleetContainer 0).Pid) + @((Get-FleetContainer 2).Pid) | Should -Be $pids
            Test-Path (Join-Path (Get-HostDir 0) 'maintained') | Should -BeFalse
        }
    }
}
