# The examples of docs/testing.md run as they stand: each block marked <!-- example: NAME --> is
# saved as NAME and run by Invoke-Pester in a fresh pwsh, against the fixture's containerd.

BeforeDiscovery {
    $script:Examples = @(
        foreach ($m in [regex]::Matches((Get-Content -Raw (Join-Path $PSScriptRoot '../../docs/testing.md')),
                '<!-- example: (?<name>[\w.-]+) -->\s*```powershell\r?\n(?<code>.*?)```', 'Singleline')) {
            @{ Name = $m.Groups['name'].Value; Code = $m.Groups['code'].Value }
        })
}

Describe 'docs/testing.md' {
    BeforeAll {
        . $PSScriptRoot/TestHelpers.ps1
        Assert-TestEnvironment
        Import-ModuleUnderTest
    }

    It 'has an example test file' {
        (Get-Content -Raw (Join-Path $PSScriptRoot '../../docs/testing.md')) | Should -Match '<!-- example: [\w.-]+ -->\s*```powershell'
    }

    It 'example <Name> passes every test it has' -ForEach $script:Examples {
        $file = Join-Path $TestDrive $Name
        Set-Content -LiteralPath $file -Value $Code
        $result = Join-Path $TestDrive "$Name.json"
        $modules = Split-Path -Parent (Split-Path -Parent (Get-Module PSContainerd).Path)
        $runner = @'
param($Pester, $Modules, $File, $RootFs, $Result)
$env:PSModulePath = $Modules + [IO.Path]::PathSeparator + $env:PSModulePath
Import-Module $Pester
$r = Invoke-Pester -Container (New-PesterContainer -Path $File -Data @{ RootFs = $RootFs }) -PassThru -Output Detailed
[pscustomobject]@{ Passed = $r.PassedCount; Failed = $r.FailedCount; Failures = @($r.Failed | ForEach-Object { "$($_.ExpandedPath): $($_.ErrorRecord)" }) } |
    ConvertTo-Json | Set-Content -LiteralPath $Result
'@
        $runnerFile = Join-Path $TestDrive 'run-example.ps1'
        Set-Content -LiteralPath $runnerFile -Value $runner
        $out = & dotnet pwsh -NoProfile -NonInteractive -File $runnerFile -Pester (Get-Module Pester).Path -Modules $modules -File $file -RootFs $env:PSCD_TEST_ROOTFS -Result $result 2>&1
        $counts = Get-Content -Raw -LiteralPath $result | ConvertFrom-Json
        $counts.Failures | Should -BeNullOrEmpty -Because ($out -join "`n")
        $counts.Failed | Should -Be 0
        $counts.Passed | Should -BeGreaterThan 2
    }
}
