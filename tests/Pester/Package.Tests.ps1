# The gallery package (build.ps1 -Task Package, also made by -Task Test): installed by name from a
# temporary file repository, it imports and talks to containerd.

BeforeAll {
    . $PSScriptRoot/TestHelpers.ps1
    Assert-TestEnvironment
    $script:Nupkg = Get-ChildItem -Path (Join-Path $PSScriptRoot '../../out/package') -Filter 'PSContainerd.*.nupkg' -ErrorAction SilentlyContinue |
        Select-Object -First 1
    if (-not $script:Nupkg) { throw 'out/package/PSContainerd.*.nupkg is missing: run build.ps1 -Task Package (or -Task Test).' }
}

Describe 'Gallery package' {
    It 'installs by name from a file repository and imports in a fresh pwsh' {
        $repo = Join-Path $TestDrive 'repo'
        $modules = Join-Path $TestDrive 'modules'
        New-Item -ItemType Directory -Path $repo, $modules | Out-Null
        Copy-Item -LiteralPath $script:Nupkg.FullName -Destination $repo
        $name = "pscd-test-$([guid]::NewGuid().ToString('N').Substring(0, 8))"
        Register-PSResourceRepository -Name $name -Uri $repo -Trusted
        try {
            Save-PSResource -Name PSContainerd -Repository $name -Path $modules -TrustRepository -SkipDependencyCheck
            Join-Path $modules 'PSContainerd' | Should -Exist
            $child = @"
`$env:PSModulePath = '$modules' + [IO.Path]::PathSeparator + `$env:PSModulePath
Import-Module PSContainerd -ErrorAction Stop
(Get-Module PSContainerd).ModuleBase
@(Get-Command -Module PSContainerd).Count
Get-Container -Namespace pester-package-none -ErrorAction Stop | Measure-Object | ForEach-Object Count
"@
            $out = & dotnet pwsh -NoProfile -NonInteractive -Command $child 2>&1
            $LASTEXITCODE | Should -Be 0 -Because ($out -join "`n")
            $out[0] | Should -BeLike "$modules*"
            [int] $out[1] | Should -Be @((Import-PowerShellDataFile (Join-Path $PSScriptRoot '../../PSContainerd.psd1')).CmdletsToExport).Count
            [int] $out[2] | Should -Be 0
        } finally {
            Unregister-PSResourceRepository -Name $name
        }
    }

    It 'the repository-root manifest passes Test-ModuleManifest' {
        { Test-ModuleManifest -Path (Join-Path $PSScriptRoot '../../PSContainerd.psd1') -ErrorAction Stop } | Should -Not -Throw
    }
}
