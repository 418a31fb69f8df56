# Conventions every exported cmdlet keeps (as platyPS's own suite checks its commands).

BeforeDiscovery {
    . $PSScriptRoot/TestHelpers.ps1
    Import-ModuleUnderTest
    $script:Commands = @(Get-Command -Module PSContainerd -CommandType Cmdlet | ForEach-Object { @{ Name = $_.Name } })
    # the supervisor cmdlets act on a (socket, namespace), not on containers: no -Id, nothing to confirm
    $script:ContainerCommands = @($script:Commands | Where-Object { $_.Name -notlike '*-ContainerSupervisor' })
    $script:StateChanging = @($script:ContainerCommands | Where-Object { $_.Name -match '^(New|Start|Stop|Restart|Set|Send|Suspend|Resume|Remove|Restore)-' })
}

BeforeAll {
    . $PSScriptRoot/TestHelpers.ps1
    Assert-TestEnvironment
    Import-ModuleUnderTest
}

Describe 'Exported cmdlets' {
    It 'exports exactly the cmdlets its manifest names' {
        $manifest = Import-PowerShellDataFile -LiteralPath $script:ModulePath
        @((Get-Command -Module PSContainerd -CommandType Cmdlet).Name | Sort-Object) |
            Should -Be @($manifest.CmdletsToExport | Sort-Object)
    }

    It "<Name> has a row in the README's cmdlet table" -ForEach $script:Commands {
        # the table's rows start with the cmdlet's name in backticks, some rows naming several
        $rows = @(Get-Content -LiteralPath (Join-Path $PSScriptRoot '../../README.md') | Where-Object { $_ -match '^\| `' })
        @($rows | Where-Object { $_.Split('|')[1] -match "``$([regex]::Escape($Name))``" }).Count | Should -Be 1
    }

    It '<Name> declares [OutputType]' -ForEach ($script:Commands | Where-Object Name -NE 'Remove-Container') {
        (Get-Command $Name).OutputType | Should -Not -BeNullOrEmpty
        # Get-ContainerLog writes the container's output lines, as docker logs does
        $expected = if ($Name -eq 'Get-ContainerLog') { 'System' } else { 'PSContainerd' }
        (Get-Command $Name).OutputType.Type.Namespace | Should -Contain $expected
    }

    It '<Name> has -Address and -Namespace' -ForEach $script:Commands {
        $p = (Get-Command $Name).Parameters
        $p.Keys | Should -Contain 'Address'
        $p.Keys | Should -Contain 'Namespace'
        $p['Address'].ParameterType | Should -Be ([string])
    }

    It '<Name> takes -Id from the pipeline by property name' -ForEach $script:ContainerCommands {
        $id = (Get-Command $Name).Parameters['Id']
        $id | Should -Not -BeNullOrEmpty
        @($id.Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] -and $_.ValueFromPipelineByPropertyName }).Count | Should -BeGreaterThan 0
    }

    It '<Name> gives -Id the alias ContainerId' -ForEach $script:ContainerCommands {
        (Get-Command $Name).Parameters['Id'].Aliases | Should -Contain 'ContainerId'
    }

    It '<Name>: -t is -Timeout, never -ThrottleLimit' -ForEach @(
        @{ Name = 'Stop-Container' }, @{ Name = 'Restart-Container' }, @{ Name = 'Wait-Container' }
    ) {
        (Get-Command $Name).Parameters['Timeout'].Aliases | Should -Contain 't'
        # what the binder makes of it: an exact alias wins over the prefix match with ThrottleLimit
        $ast = [System.Management.Automation.Language.Parser]::ParseInput("$Name -Id x -t 3", [ref] $null, [ref] $null)
        $bound = [System.Management.Automation.Language.StaticParameterBinder]::BindCommand($ast.EndBlock.Statements[0].PipelineElements[0], $true)
        $bound.BindingExceptions.Count | Should -Be 0
        $bound.BoundParameters.Keys | Should -Contain 'Timeout'
        "$($bound.BoundParameters['Timeout'].ConstantValue)" | Should -Be '3'
    }

    It 'Stop-Container and Restart-Container declare their shared parameters once (<Parameter>)' -ForEach @(
        @{ Parameter = 'Id' }, @{ Parameter = 'Timeout' }, @{ Parameter = 'Signal' }, @{ Parameter = 'ThrottleLimit' }, @{ Parameter = 'Force' }
    ) {
        $stop = (Get-Command Stop-Container).Parameters[$Parameter]
        $restart = (Get-Command Restart-Container).Parameters[$Parameter]
        $restart.ParameterType | Should -Be $stop.ParameterType
        @($restart.Aliases) | Should -Be @($stop.Aliases)
        # one declaration, not two that agree today: both cmdlets inherit the property from one class
        $declaredBy = (Get-Command Stop-Container).ImplementingType.GetProperty($Parameter).DeclaringType
        (Get-Command Restart-Container).ImplementingType.GetProperty($Parameter).DeclaringType | Should -Be $declaredBy
        $declaredBy | Should -Not -Be (Get-Command Stop-Container).ImplementingType
    }

    It '<Name> supports -WhatIf and -Confirm, and has -Force' -ForEach $script:StateChanging {
        $p = (Get-Command $Name).Parameters
        $p.Keys | Should -Contain 'WhatIf'
        $p.Keys | Should -Contain 'Confirm'
        $p.Keys | Should -Contain 'Force'
    }
}

Describe '-Force overrides refusals and means nothing else' {
    It '<Name> refuses a namespace another manager owns without -Force, and says -Force overrides it' -ForEach $script:StateChanging {
        $extra = switch ($Name) {
            'New-Container' { @{ RootFs = $env:PSCD_TEST_ROOTFS } }
            'Set-Container' { @{ StopTimeout = 5 } }
            default { @{} }
        }
        & $Name -Id (New-TestId 'fr') -Namespace moby @extra -Confirm:$false -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'ForeignNamespace,*'
        "$($err[0])" | Should -BeLike '*dockerd*-Force*'
    }

    It 'Stop-Container -Force in a namespace nobody else owns stops as without it' {
        $a = New-TestId 'fo'; $b = New-TestId 'fo'
        try {
            New-Container -Id $a -RootFs $env:PSCD_TEST_ROOTFS -Command sleep, 100 -Start | Out-Null
            New-Container -Id $b -RootFs $env:PSCD_TEST_ROOTFS -Command sleep, 100 -Start | Out-Null
            $plain = Stop-Container -Id $a -Timeout 1
            $forced = Stop-Container -Id $b -Timeout 1 -Force
            # sleep as PID 1 ignores SIGTERM: both wait out the grace period, then SIGKILL
            foreach ($r in $plain, $forced) {
                $r.Outcome | Should -Be 'Stopped'
                $r.Signal | Should -Be 'SIGTERM'
                $r.Escalation | Should -Be 'Kill'
                $r.ExitCode | Should -Be 137
            }
        }
        finally {
            Remove-TestContainers -Ids $a, $b
        }
    }
}

Describe '-PassThru' {
    BeforeAll {
        $script:PassId = New-TestId 'pt'
        New-Container -Id $script:PassId -RootFs $env:PSCD_TEST_ROOTFS -Command sleep, 100 -Start | Out-Null
    }

    AfterAll {
        Remove-TestContainers -Ids $script:PassId
    }

    # In this order, so each finds the container as it needs it (running, then paused, then resumed).
    It '<Name> writes nothing without -PassThru and the ContainerInfo as it is afterwards with it' -ForEach @(
        @{ Name = 'Set-Container'; Arguments = @{ StopTimeout = 7 }; Check = { param($c) $c.StopTimeout | Should -Be 7 } }
        @{ Name = 'Send-ContainerSignal'; Arguments = @{ Signal = 'SIGCONT' }; Check = { param($c) $c.Status | Should -Be 'Running' } }
        @{ Name = 'Suspend-Container'; Arguments = @{}; Check = { param($c) $c.Status | Should -Be 'Paused' } }
        @{ Name = 'Resume-Container'; Arguments = @{}; Check = { param($c) $c.Status | Should -Be 'Running' } }
    ) {
        & $Name -Id $script:PassId @Arguments | Should -BeNullOrEmpty
        # put it back as the second call needs it
        if ($Name -eq 'Suspend-Container') { Resume-Container -Id $script:PassId }
        if ($Name -eq 'Resume-Container') { Suspend-Container -Id $script:PassId }
        $out = @(& $Name -Id $script:PassId @Arguments -PassThru)
        $out.Count | Should -Be 1
        $out[0].PSObject.TypeNames[0] | Should -Be 'PSContainerd.ContainerInfo'
        $out[0].Id | Should -Be $script:PassId
        $out[0].Address | Should -Be $env:CONTAINERD_ADDRESS
        & $Check $out[0]
    }

    It '<Name> writes what it produced without -PassThru, and has no -PassThru' -ForEach @(
        @{ Name = 'New-Container' }, @{ Name = 'Start-Container' }, @{ Name = 'Restart-Container' }, @{ Name = 'Stop-Container' }, @{ Name = 'Restore-ContainerState' }
    ) {
        (Get-Command $Name).Parameters.Keys | Should -Not -Contain 'PassThru'
        @((Get-Command $Name).OutputType.Name) -match '^PSContainerd\.(ContainerInfo|StopResult|RestoreResult)$' | Should -Not -BeNullOrEmpty
    }
}

Describe '-WhatIf' {
    It 'Remove-Container -Force -WhatIf changes nothing' {
        $id = New-TestId 'wi'
        try {
            $c = New-Container -Id $id -RootFs $env:PSCD_TEST_ROOTFS -Command sleep, 100 -Start
            Remove-Container -Id $id -Force -WhatIf
            $now = Get-Container -Id $id
            $now.Status | Should -Be 'Running'
            $now.Pid | Should -Be $c.Pid
            Test-Path "/proc/$($c.Pid)" | Should -BeTrue
        }
        finally {
            Remove-TestContainers -Ids $id
        }
    }

    It '<Cmd> -WhatIf leaves a running container as it was' -ForEach @(
        @{ Cmd = 'Send-ContainerSignal' }, @{ Cmd = 'Suspend-Container' }
    ) {
        $id = New-TestId 'wi'
        try {
            $c = New-Container -Id $id -RootFs $env:PSCD_TEST_ROOTFS -Command sleep, 100 -Start
            & $Cmd -Id $id -WhatIf
            $now = Get-Container -Id $id
            $now.Status | Should -Be 'Running'
            $now.Pid | Should -Be $c.Pid
        }
        finally {
            Remove-TestContainers -Ids $id
        }
    }

    It 'Start-Container -WhatIf leaves a created container created' {
        $id = New-TestId 'wi'
        try {
            New-Container -Id $id -RootFs $env:PSCD_TEST_ROOTFS | Out-Null
            Start-Container -Id $id -WhatIf | Should -BeNullOrEmpty
            (Get-Container -Id $id).Status | Should -Be 'Created'
        }
        finally {
            Remove-TestContainers -Ids $id
        }
    }
}

Describe 'Module removal' {
    It 'Remove-Module returns promptly after the engine was used' {
        Get-Container | Out-Null
        $t = Measure-Command { Remove-Module PSContainerd -Force }
        $t.TotalSeconds | Should -BeLessThan 6
        Import-ModuleUnderTest
        { Get-Container -ErrorAction Stop } | Should -Not -Throw
    }
}
