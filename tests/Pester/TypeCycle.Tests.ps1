# tools/Get-TypeCycle.ps1: the cycles among a folder's C# types, as docs/architecture.md counts them.

BeforeAll {
    $script:Tool = Join-Path $PSScriptRoot '../../tools/Get-TypeCycle.ps1'
    function New-CsFolder([hashtable] $Files) {
        $dir = Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))
        $null = New-Item -ItemType Directory -Path $dir
        foreach ($k in $Files.Keys) { Set-Content -LiteralPath (Join-Path $dir $k) -Value $Files[$k] }
        $dir
    }
}

Describe 'Get-TypeCycle' {
    It 'finds a cycle through three types and leaves out the type outside it' {
        $dir = New-CsFolder @{
            'A.cs' = "namespace N;`ninternal sealed class A { private B? _b; }"
            'B.cs' = "namespace N;`ninternal sealed class B { public C Make() => new C(); }"
            'C.cs' = "namespace N;`ninternal sealed record C { public A? Owner { get; init; } public D? Leaf { get; init; } }"
            'D.cs' = "namespace N;`ninternal enum D { One }"
        }
        $cycles = @(& $script:Tool -Path $dir)
        $cycles.Count | Should -Be 1
        $cycles[0].Size | Should -Be 3
        $cycles[0].Types | Should -Be 'A, B, C'
    }

    It 'counts the parts of a partial class as one type' {
        $dir = New-CsFolder @{
            'E.cs'      = "namespace N;`ninternal sealed partial class E { }"
            'E.More.cs' = "namespace N;`ninternal sealed partial class E { private F? _f; }"
            'F.cs'      = "namespace N;`ninternal sealed class F { private E? _e; }"
        }
        $cycles = @(& $script:Tool -Path $dir)
        $cycles.Count | Should -Be 1
        $cycles[0].Types | Should -Be 'E, F'
    }

    It 'ignores names in comments and strings, and nested types belong to their holder' {
        $dir = New-CsFolder @{
            'G.cs' = "namespace N;`n/// <summary>Uses <see cref=`"H`"/>.</summary>`ninternal sealed class G { private string _s = `"H`"; // H`n internal sealed class Inner { } }"
            'H.cs' = "namespace N;`ninternal sealed class H { private G.Inner? _i; }"
        }
        @(& $script:Tool -Path $dir).Count | Should -Be 0
    }
}

Describe 'Get-TypeCycle on a project folder' {
    It 'reads past empty files and leaves the build''s obj folder out' {
        $dir = New-CsFolder @{
            'A.cs'     = "namespace N;`ninternal sealed class A { private B? _b; }"
            'B.cs'     = "namespace N;`ninternal sealed class B { }"
            'Empty.cs' = ''
        }
        $obj = New-Item -ItemType Directory -Path (Join-Path $dir 'obj')
        Set-Content -LiteralPath (Join-Path $obj 'Generated.cs') -Value "namespace N;`ninternal sealed class Gen { private A? _a; }`ninternal sealed partial class B { private Gen? _g; }"
        @(& $script:Tool -Path $dir).Count | Should -Be 0
    }
}

Describe 'The engine''s shape' {
    It 'has no type cycle: every part depends on the parts below it, none back on ContainerEngine' {
        $cycles = @(& $script:Tool)
        $cycles | ForEach-Object { "cycle of $($_.Size): $($_.Types)" } | Should -BeNullOrEmpty
    }

    It 'has no source file over 300 lines' {
        $src = Join-Path $PSScriptRoot '../../src/PSContainerd'
        $long = Get-ChildItem -LiteralPath $src -Recurse -Filter '*.cs' -File |
            Where-Object { $_.FullName -notmatch '[\\/](obj|bin)[\\/]' } |
            Where-Object { @(Get-Content -LiteralPath $_.FullName).Count -gt 300 } |
            ForEach-Object { "$([System.IO.Path]::GetRelativePath($src, $_.FullName)): $(@(Get-Content -LiteralPath $_.FullName).Count) lines" }
        $long | Should -BeNullOrEmpty
    }
}
