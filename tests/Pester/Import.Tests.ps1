# Import-Module starts a background Version call to the default socket (ModuleWarmUp): whatever is at
# that path, the import itself neither fails, nor writes anything, nor waits for it.

Describe 'Import-Module warm-up' {
    BeforeAll {
        . $PSScriptRoot/TestHelpers.ps1
        Assert-TestEnvironment
        $script:Manifest = (Resolve-Path $script:ModulePath).Path
        function Invoke-FreshImport([string] $Address, [string] $Then = "'imported'") {
            $child = "`$env:CONTAINERD_ADDRESS = '$Address'; Import-Module '$script:Manifest' -ErrorAction Stop; $Then"
            $out = & dotnet pwsh -NoProfile -NonInteractive -Command $child 2>&1
            [pscustomobject]@{ Exit = $LASTEXITCODE; Output = @($out | ForEach-Object { "$_" }) }
        }
    }

    It 'imports silently when the default address is a regular file, not a socket' {
        $file = Join-Path $TestDrive 'not-a-socket'
        Set-Content -LiteralPath $file -Value 'x'
        $r = Invoke-FreshImport $file
        $r.Exit | Should -Be 0
        $r.Output | Should -Be @('imported')
    }

    It 'imports silently when nothing is at the default address' {
        $r = Invoke-FreshImport (Join-Path $TestDrive 'missing.sock')
        $r.Exit | Should -Be 0
        $r.Output | Should -Be @('imported')
    }

    It 'leaves the first call to answer as usual when the default address is containerd' {
        $r = Invoke-FreshImport $env:CONTAINERD_ADDRESS "(Get-Container -Id no-such-container-$(Get-Random) -ErrorAction SilentlyContinue -ErrorVariable e); `$e[0].FullyQualifiedErrorId"
        $r.Exit | Should -Be 0
        $r.Output[-1] | Should -BeLike 'ContainerNotFound*'
    }
}
