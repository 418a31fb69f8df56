<#
.SYNOPSIS
    Prints the cycles among the C# types of a folder: groups of types that reach one another
    through their references.

.DESCRIPTION
    No tool draws C#'s type dependencies, so this one counts them from the text: every type declared
    in the folder's *.cs files (class, record, struct, interface, enum; the parts of a partial
    class are one type), and for each, the other declared types whose names stand in its body once
    comments, strings and character literals are stripped. Nested types count as part of the type
    that holds them. The strongly connected components of that graph with more than one type are
    the cycles; each is written as an object (Types, Size), largest first. Nothing is written when
    the folder has none.

    A name that only occurs in a comment does not count; a local variable that happens to share a
    type's name does (rare in a code base whose types are PascalCase and locals camelCase).

.PARAMETER Path
    The folder, searched recursively (default: the engine, src/PSContainerd/Engine); the build's
    obj/ and bin/ folders are left out.

.EXAMPLE
    dotnet pwsh ./tools/Get-TypeCycle.ps1
    dotnet pwsh ./tools/Get-TypeCycle.ps1 -Path src/PSContainerd | Format-List
#>
[CmdletBinding()]
param(
    [string] $Path = (Join-Path $PSScriptRoot '../src/PSContainerd/Engine')
)

$ErrorActionPreference = 'Stop'

# comments, verbatim/regular/interpolated strings and char literals, in the order C# reads them
$noise = [regex]::new('//[^\n]*|/\*.*?\*/|@"(?:[^"]|"")*"|\$?"(?:\\.|[^"\\\n])*"|''(?:\\.|[^''\\\n])+''',
    [System.Text.RegularExpressions.RegexOptions]::Singleline)
$declaration = [regex]::new('\b(?:class|record(?:\s+(?:class|struct))?|struct|interface|enum)\s+([A-Z]\w*)')

# the body of each top-level type: its text from its declaration to the matching brace
function Get-TopLevelType([string] $Text) {
    $depth = 0
    $i = 0
    while ($i -lt $Text.Length) {
        $m = $declaration.Match($Text, $i)
        if (-not $m.Success) { return }
        # the depth at the declaration: namespaces are file-scoped here, so top level is depth 0;
        # a block-scoped namespace adds one level, which the caller's $BaseDepth allows for
        $depth = 0
        foreach ($ch in $Text.Substring(0, $m.Index).ToCharArray()) {
            if ($ch -eq '{') { $depth++ } elseif ($ch -eq '}') { $depth-- }
        }
        $open = $Text.IndexOf('{', $m.Index)
        $semi = $Text.IndexOf(';', $m.Index)
        if ($open -lt 0 -or ($semi -ge 0 -and $semi -lt $open)) {
            # a body-less declaration (record R(int X);): its text up to the semicolon
            $end = if ($semi -ge 0) { $semi } else { $Text.Length - 1 }
            [pscustomobject]@{ Name = $m.Groups[1].Value; Depth = $depth; Body = $Text.Substring($m.Index, $end - $m.Index + 1) }
            $i = $end + 1
            continue
        }
        $level = 0
        $j = $open
        for (; $j -lt $Text.Length; $j++) {
            if ($Text[$j] -eq '{') { $level++ }
            elseif ($Text[$j] -eq '}') { $level--; if ($level -eq 0) { break } }
        }
        [pscustomobject]@{ Name = $m.Groups[1].Value; Depth = $depth; Body = $Text.Substring($m.Index, [Math]::Min($j, $Text.Length - 1) - $m.Index + 1) }
        $i = $j + 1
    }
}

$bodies = @{}
foreach ($file in Get-ChildItem -LiteralPath $Path -Recurse -Filter '*.cs' -File) {
    # the build's output (obj/, bin/) holds generated code, some of it empty files
    if ($file.FullName -match '[\\/](obj|bin)[\\/]') { continue }
    $raw = Get-Content -LiteralPath $file.FullName -Raw
    if (-not $raw) { continue }
    $text = $noise.Replace($raw, ' ')
    $types = @(Get-TopLevelType $text)
    if (-not $types) { continue }
    $top = ($types | Measure-Object -Property Depth -Minimum).Minimum
    foreach ($t in $types | Where-Object Depth -EQ $top) {
        $bodies[$t.Name] = "$($bodies[$t.Name])`n$($t.Body)"
    }
}

$edges = @{}
foreach ($name in $bodies.Keys) {
    $refs = [System.Collections.Generic.HashSet[string]]::new()
    foreach ($m in [regex]::Matches($bodies[$name], '\b[A-Z]\w*\b')) {
        if ($m.Value -ne $name -and $bodies.ContainsKey($m.Value)) { $null = $refs.Add($m.Value) }
    }
    $edges[$name] = $refs
}

# Tarjan's strongly connected components, iterative so a deep graph cannot overflow the stack
$index = @{}; $low = @{}; $onStack = @{}
$stack = [System.Collections.Generic.Stack[string]]::new()
$next = 0
$components = [System.Collections.Generic.List[object]]::new()
foreach ($root in $bodies.Keys | Sort-Object) {
    if ($index.ContainsKey($root)) { continue }
    $work = [System.Collections.Generic.Stack[object]]::new()
    $work.Push([pscustomobject]@{ Node = $root; Children = @($edges[$root] | Sort-Object); Next = 0 })
    $index[$root] = $low[$root] = $next++; $stack.Push($root); $onStack[$root] = $true
    while ($work.Count -gt 0) {
        $frame = $work.Peek()
        if ($frame.Next -lt $frame.Children.Count) {
            $child = $frame.Children[$frame.Next]; $frame.Next++
            if (-not $index.ContainsKey($child)) {
                $index[$child] = $low[$child] = $next++; $stack.Push($child); $onStack[$child] = $true
                $work.Push([pscustomobject]@{ Node = $child; Children = @($edges[$child] | Sort-Object); Next = 0 })
            } elseif ($onStack[$child]) {
                $low[$frame.Node] = [Math]::Min($low[$frame.Node], $index[$child])
            }
            continue
        }
        $null = $work.Pop()
        if ($work.Count -gt 0) { $parent = $work.Peek().Node; $low[$parent] = [Math]::Min($low[$parent], $low[$frame.Node]) }
        if ($low[$frame.Node] -eq $index[$frame.Node]) {
            $members = [System.Collections.Generic.List[string]]::new()
            do { $w = $stack.Pop(); $onStack[$w] = $false; $members.Add($w) } while ($w -ne $frame.Node)
            if ($members.Count -gt 1) { $components.Add(@($members | Sort-Object)) }
        }
    }
}

foreach ($c in $components | Sort-Object -Property Count -Descending) {
    [pscustomobject]@{ Size = $c.Count; Types = $c -join ', ' }
}
