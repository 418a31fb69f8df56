# Conventions every exported cmdlet keeps (as platyPS's own suite checks its commands).

BeforeDiscovery {
    . $PSScriptRoot/TestHelpers.ps1
    Import-ModuleUnderTest
    $script:Commands = @(Get-Command -Module PSContainerd -CommandType Cmdlet | ForEach-Object { @{ Name = $_.Name } })
    # the supervisor cmdlets act on a (socket, namespace), not on containers: no -Id, nothing to confirm
    $script:ContainerCommands = @($script:Commands | Where-Object { $_.Name -notlike '*-ContainerSupervisor' })
    $script:StateChanging = @($script:ContainerCommands | Where-Object { $_.Name -match '^(New|Start|Stop|Send|Suspend|Resume|Remove|Restore)-' })
}

BeforeAll {
    . $PSScriptRoot/TestHelpers.ps1
    Assert-TestEnvironment
    Import-ModuleUnderTest
}

Describe 'Exported cmdlets' {
    It 'exports every cmdlet the README names' {
        $names = (Get-Command -Module PSContainerd).Name
        foreach ($n in 'Get-Container', 'New-Container', 'Start-Container', 'Stop-Container', 'Wait-Container',
            'Send-ContainerSignal', 'Suspend-Container', 'Resume-Container', 'Remove-Container',
            'Restore-ContainerState', 'Get-ContainerEvent', 'Get-ContainerSupervisor', 'Start-ContainerSupervisor') {
            $names | Should -Contain $n
        }
    }

    It '<Name> declares [OutputType]' -ForEach ($script:Commands | Where-Object Name -NE 'Remove-Container') {
        (Get-Command $Name).OutputType | Should -Not -BeNullOrEmpty
        (Get-Command $Name).OutputType.Type.Namespace | Should -Contain 'PSContainerd'
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

    It '<Name> supports -WhatIf and -Confirm, and has -Force' -ForEach $script:StateChanging {
        $p = (Get-Command $Name).Parameters
        $p.Keys | Should -Contain 'WhatIf'
        $p.Keys | Should -Contain 'Confirm'
        $p.Keys | Should -Contain 'Force'
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
