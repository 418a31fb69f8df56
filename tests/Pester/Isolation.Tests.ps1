# The module's dependencies load in its own AssemblyLoadContext: another module that loaded older
# releases of Google.Protobuf, Grpc.Net.Client, Grpc.Core.Api or the logging abstractions first
# does not break it. Each case runs in a fresh pwsh, since this one has the module loaded already.

BeforeAll {
    . $PSScriptRoot/TestHelpers.ps1
    Assert-TestEnvironment
    Import-ModuleUnderTest # for the cleanup only
    $script:Manifest = (Resolve-Path $script:ModulePath).Path

    $line = & dotnet nuget locals global-packages --list | Where-Object { $_ -match 'global-packages:\s*(.+?)\s*$' } | Select-Object -First 1
    $packages = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } elseif ($line -match 'global-packages:\s*(.+?)\s*$') { $Matches[1] } else { Join-Path $HOME '.nuget/packages' }
    # Restored by build.ps1 -Task Bootstrap (tests/Fixtures/OldDependencies).
    $script:OldAssemblies = @(
        'google.protobuf/3.21.9/lib/net5.0/Google.Protobuf.dll'
        'grpc.core.api/2.65.0/lib/netstandard2.1/Grpc.Core.Api.dll'
        'grpc.net.client/2.55.0/lib/net7.0/Grpc.Net.Client.dll'
        'microsoft.extensions.logging.abstractions/6.0.0/lib/net6.0/Microsoft.Extensions.Logging.Abstractions.dll'
    ) | ForEach-Object { Join-Path $packages $_ }
    foreach ($a in $script:OldAssemblies) {
        if (-not (Test-Path -LiteralPath $a)) { throw "$a is missing: run build.ps1 -Task Bootstrap." }
    }
}

Describe 'Dependency isolation' {
    It 'stops a container in a pwsh where older gRPC, Protobuf and logging assemblies were loaded first' {
        $id = New-TestId 'iso'
        $paths = ($script:OldAssemblies | ForEach-Object { "'$_'" }) -join ', '
        $child = @"
`$ErrorActionPreference = 'Stop'
`$env:CONTAINERD_NAMESPACE = 'pester-iso'
foreach (`$p in $paths) { Add-Type -LiteralPath `$p }
`$loaded = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { `$_.GetName().Name -eq 'Google.Protobuf' } | ForEach-Object { `$_.GetName().Version.ToString() }
Import-Module '$($script:Manifest)'
New-Container -Id '$id' -RootFs '$($env:PSCD_TEST_ROOTFS)' -Command sleep, 1000 -Start | Out-Null
`$r = Stop-Container -Id '$id' -Timeout 0
Remove-Container -Id '$id'
[pscustomobject]@{ Protobuf = @(`$loaded); Outcome = "`$(`$r.Outcome)"; ExitCode = `$r.ExitCode } | ConvertTo-Json -Compress
"@
        try {
            $out = & dotnet pwsh -NoProfile -NonInteractive -Command $child 2>&1
            $LASTEXITCODE | Should -Be 0 -Because ($out -join "`n")
            $r = ($out | Select-Object -Last 1) | ConvertFrom-Json
            # The older Protobuf was really there first, in the default context.
            $r.Protobuf | Should -Contain '3.21.9.0'
            $r.Outcome | Should -Be 'Stopped'
            $r.ExitCode | Should -Be 137
        } finally {
            Remove-TestContainers -Ids $id -Namespace 'pester-iso'
        }
    }

    It 'loads nothing but its loader into the default load context' {
        $child = @"
Import-Module '$($script:Manifest)'
`$null = Get-Command Stop-Container
[System.Runtime.Loader.AssemblyLoadContext]::Default.Assemblies |
    Where-Object { `$_.GetName().Name -match '^(PSContainerd|Google\.Protobuf|Grpc\.|Microsoft\.Extensions\.)' } |
    ForEach-Object { `$_.GetName().Name }
'--'
[System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext((Get-Command Stop-Container).ImplementingType.Assembly).Name
"@
        $out = & dotnet pwsh -NoProfile -NonInteractive -Command $child
        $sep = [array]::IndexOf($out, '--')
        @($out[0..($sep - 1)]) | Should -Be @('PSContainerd.Loader')
        $out[$sep + 1] | Should -Be 'PSContainerd'
    }
}

Describe 'Precompiled code' {
    BeforeAll {
        # The ReadyToRun format's major version from an assembly's header (0 when it has none). A
        # runtime uses such code only when its own major version made it (the one its own
        # System.Private.CoreLib carries); any other is compiled again at every cold start.
        function Get-ReadyToRunMajor([string] $Path) {
            $stream = [System.IO.File]::OpenRead($Path)
            try {
                $pe = [System.Reflection.PortableExecutable.PEReader]::new($stream)
                $dir = $pe.PEHeaders.CorHeader.ManagedNativeHeaderDirectory
                if ($dir.Size -eq 0) { return 0 }
                $offset = 0
                if (-not $pe.PEHeaders.TryGetDirectoryOffset($dir, [ref] $offset)) { return 0 }
                $reader = [System.IO.BinaryReader]::new($stream)
                $stream.Position = $offset
                if ($reader.ReadUInt32() -ne 0x00525452) { return 0 } # 'RTR'
                return [int] $reader.ReadUInt16()
            } finally {
                $stream.Dispose()
            }
        }
        $script:RuntimeMajor = Get-ReadyToRunMajor ([object].Assembly.Location)
    }

    It 'loads the build whose precompiled code this .NET uses, for the module and each dependency' {
        $script:RuntimeMajor | Should -BeGreaterThan 0 -Because 'the framework itself is precompiled'
        $assembly = (Get-Command Stop-Container).ImplementingType.Assembly
        $folder = Split-Path -Parent $assembly.Location
        foreach ($name in 'PSContainerd', 'Google.Protobuf', 'Grpc.Net.Client', 'Grpc.Core.Api') {
            Get-ReadyToRunMajor (Join-Path $folder "$name.dll") | Should -Be $script:RuntimeMajor -Because "$name.dll in $folder"
        }
    }
}
