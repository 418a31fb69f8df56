# Help for every exported cmdlet, as Get-Help shows it from the built module's
# en-US/PSContainerd.dll-Help.xml (generated from docs/ by tools/ConvertTo-MamlHelp.ps1).
# Needs the built module (build.ps1 -Task Build), not containerd.

BeforeDiscovery {
    . $PSScriptRoot/TestHelpers.ps1
    Import-ModuleUnderTest
    $script:Commands = @(Get-Command -Module PSContainerd -CommandType Cmdlet | Sort-Object Name |
        ForEach-Object { @{ Name = $_.Name } })
    $docs = Join-Path $PSScriptRoot '../../docs'
    $script:AboutTopics = @(Get-ChildItem -LiteralPath $docs -Filter 'about_*.md' -File -ErrorAction Ignore |
        ForEach-Object { @{ Topic = $_.BaseName } })
}

BeforeAll {
    . $PSScriptRoot/TestHelpers.ps1
    Import-ModuleUnderTest
    # Debug, ErrorAction, ... ProgressAction; WhatIf and Confirm are not in this list, so pages must describe them
    $script:Common = [System.Management.Automation.PSCmdlet]::CommonParameters

    function Get-HelpText($Paras) {
        return ((@($Paras) | Where-Object { $null -ne $_ } | ForEach-Object {
            if ($_ -is [string]) { $_ } elseif ($_.PSObject.Properties['Text']) { $_.Text } else { "$_" }
        }) -join "`n").Trim()
    }

    function Get-HelpParameter($Help) {
        if (-not $Help.PSObject.Properties['parameters'] -or -not $Help.parameters) { return @() }
        if (-not $Help.parameters.PSObject.Properties['parameter']) { return @() }
        return @($Help.parameters.parameter)
    }
}

Describe 'Cmdlet help' {
    It 'the module ships en-US/PSContainerd.dll-Help.xml' {
        $base = (Get-Module PSContainerd).ModuleBase
        Join-Path $base 'en-US/PSContainerd.dll-Help.xml' | Should -Exist
    }

    It '<Name> has a synopsis that is not the generated syntax' -ForEach $script:Commands {
        $help = Get-Help $Name -Full
        $synopsis = "$($help.Synopsis)".Trim()
        $synopsis | Should -Not -BeNullOrEmpty -Because "docs/$Name.md needs a ## SYNOPSIS"
        # without help, Get-Help makes the synopsis from the syntax: "Get-Container [[-Id] <string[]>] ..."
        $synopsis | Should -Not -Match ('^' + [regex]::Escape($Name) + '(\s|$)') -Because "no help was found for $Name (is there a docs/$Name.md?)"
    }

    It '<Name> has at least one example with code' -ForEach $script:Commands {
        $help = Get-Help $Name -Full
        $examples = @(if ($help.PSObject.Properties['examples'] -and $help.examples) { $help.examples.example })
        $examples.Count | Should -BeGreaterThan 0 -Because "docs/$Name.md needs an ## EXAMPLES entry"
        foreach ($e in $examples) { "$($e.code)".Trim() | Should -Not -BeNullOrEmpty -Because "$($e.title) needs code" }
    }

    It '<Name> describes every parameter except the common ones' -ForEach $script:Commands {
        $help = Get-Help $Name -Full
        $documented = @{}
        foreach ($p in (Get-HelpParameter $help)) { $documented["$($p.name)"] = Get-HelpText $p.description }
        $undescribed = @((Get-Command $Name).Parameters.Keys | Where-Object { $script:Common -notcontains $_ } |
            Where-Object { -not $documented.ContainsKey($_) -or -not $documented[$_] } | Sort-Object)
        $undescribed | Should -BeNullOrEmpty -Because "docs/$Name.md must describe -$($undescribed -join ', -')"
    }

    It '<Name> documents no parameter the cmdlet lacks' -ForEach $script:Commands {
        $help = Get-Help $Name -Full
        $actual = (Get-Command $Name).Parameters.Keys
        $stale = @(Get-HelpParameter $help | ForEach-Object { "$($_.name)" } | Where-Object { $actual -notcontains $_ })
        $stale | Should -BeNullOrEmpty -Because "docs/$Name.md documents parameters $Name does not have"
    }
}

Describe 'Shared parameters' {
    It 'Stop-Container and Restart-Container describe -<Parameter> in the same words' -ForEach @(
        @{ Parameter = 'Id' }, @{ Parameter = 'Timeout' }, @{ Parameter = 'Signal' }, @{ Parameter = 'ThrottleLimit' }, @{ Parameter = 'Force' }
    ) {
        $text = foreach ($name in 'Stop-Container', 'Restart-Container') {
            $p = Get-HelpParameter (Get-Help $name -Full) | Where-Object name -EQ $Parameter
            Get-HelpText $p.description
        }
        $text[0] | Should -Not -BeNullOrEmpty
        $text[1] | Should -BeExactly $text[0]
    }

    It 'the help states the default -ThrottleLimit the cmdlet uses (<_>)' -ForEach 'Stop-Container', 'Restart-Container' {
        $p = Get-HelpParameter (Get-Help $_ -Full) | Where-Object name -EQ 'ThrottleLimit'
        $actual = [Activator]::CreateInstance((Get-Command $_).ImplementingType).ThrottleLimit
        $actual | Should -Be 50 -Because 'a stop mostly waits: 50 at once, as docker stop'
        "$($p.defaultValue)" | Should -Be "$actual" -Because "docs/$_.md"
    }

    It '-Force is described as an override of refusals on every cmdlet that has it' {
        foreach ($name in (Get-Command -Module PSContainerd -CommandType Cmdlet | Where-Object { $_.Parameters.ContainsKey('Force') }).Name) {
            $p = Get-HelpParameter (Get-Help $name -Full) | Where-Object name -EQ 'Force'
            Get-HelpText $p.description | Should -BeLike "Overrides this cmdlet's refusals*ForeignNamespace*" -Because "docs/$name.md"
        }
    }
}

Describe 'About topics' {
    It 'Get-Help <Topic> shows the topic' -ForEach $script:AboutTopics {
        $text = Get-Help $Topic -ErrorAction Stop | Out-String
        $text | Should -Match ([regex]::Escape($Topic))
        @($text -split "`n").Count | Should -BeGreaterThan 5
        Join-Path (Get-Module PSContainerd).ModuleBase "en-US/$Topic.help.txt" | Should -Exist
    }

    It 'Get-Help about_PSContainerd works' {
        { Get-Help about_PSContainerd -ErrorAction Stop } | Should -Not -Throw
        Get-Help about_PSContainerd | Out-String | Should -Match 'about_PSContainerd'
    }
}
