#Requires -Version 7.4
<#
.SYNOPSIS
    Converts the platyPS-v1-style markdown pages in docs/ into PowerShell help files.

.DESCRIPTION
    Reads every cmdlet page (docs/<Verb>-<Noun>.md, not about_*) and writes one MAML file,
    <ModuleName>.dll-Help.xml, the file PowerShell looks for next to a binary module's dll (in the
    module's culture folder, e.g. en-US/). Converts every docs/about_*.md into about_*.help.txt
    (plain text, wrapped at 80 columns, code blocks kept and indented).

    A page must have the platyPS v1 shape: front matter (optional), `# <Name>`, then `## SYNOPSIS`,
    `## SYNTAX` (``` blocks, optionally under `### <ParameterSetName>`), `## DESCRIPTION`,
    `## EXAMPLES` (`### Example N: title`, ```code```, remarks), `## PARAMETERS` (`### -Name`,
    description, ```yaml``` block), `## INPUTS`, `## OUTPUTS` (`### <TypeName>` + text), `## NOTES`,
    `## RELATED LINKS` (`- [text](uri)`).

    Problems that would silently lose content (no `# Name`, a name that differs from the file
    name, an unknown `##` section, an unclosed code fence, a parameter without its yaml block or
    Type, an example without code, a syntax naming an undocumented parameter, no SYNTAX block)
    make the script throw one error listing every problem in every page. Gaps that are only
    incomplete documentation (no or empty SYNOPSIS, no DESCRIPTION, no EXAMPLES, an expected
    command without a page, a page for a command not expected) are warnings.

.PARAMETER DocsPath
    The folder holding the markdown pages.

.PARAMETER OutputPath
    The folder to write into (created if missing), normally <staged module>/en-US.

.PARAMETER ModuleName
    Names the MAML file: <ModuleName>.dll-Help.xml.

.PARAMETER ExpectedCommand
    The commands that should have a page (the manifest's CmdletsToExport). Missing pages are
    reported as warnings.

.OUTPUTS
    One object: MamlPath, Commands (the names converted), AboutFiles, Warnings.

.EXAMPLE
    ./tools/ConvertTo-MamlHelp.ps1 -DocsPath docs -OutputPath out/PSContainerd/en-US -ExpectedCommand Get-Container
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $DocsPath,
    [Parameter(Mandatory)] [string] $OutputPath,
    [string] $ModuleName = 'PSContainerd',
    [string[]] $ExpectedCommand = @()
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

$NsMaml    = 'http://schemas.microsoft.com/maml/2004/10'
$NsCommand = 'http://schemas.microsoft.com/maml/dev/command/2004/10'
$NsDev     = 'http://schemas.microsoft.com/maml/dev/2004/10'
$NsMsHelp  = 'http://msdn.microsoft.com/mshelp'

$KnownSections = @('SYNOPSIS', 'SYNTAX', 'DESCRIPTION', 'EXAMPLES', 'PARAMETERS', 'INPUTS', 'OUTPUTS',
                   'NOTES', 'RELATED LINKS')

# --- markdown ----------------------------------------------------------------------------------

# Splits lines into blocks: @{ Kind = 'heading'|'code'|'text'; Level; Text; Lang; Lines }.
# Code fences are kept whole; text blocks are runs of non-blank, non-heading lines.
function Split-MarkdownBlock {
    param([string[]] $Lines, [string] $Source, [System.Collections.Generic.List[string]] $Problems)
    $blocks = [System.Collections.Generic.List[object]]::new()
    $i = 0
    $text = $null
    while ($i -lt $Lines.Count) {
        $line = $Lines[$i]
        if ($line -match '^\s{0,3}(```+|~~~+)\s*([\w+-]*)\s*$') {
            $fence = $Matches[1]; $lang = $Matches[2]
            $text = $null
            $start = $i
            $code = [System.Collections.Generic.List[string]]::new()
            $i++
            $closed = $false
            while ($i -lt $Lines.Count) {
                if ($Lines[$i] -match ('^\s{0,3}' + [regex]::Escape($fence.Substring(0, 1)) + '{' + $fence.Length + ',}\s*$')) {
                    $closed = $true; break
                }
                $code.Add($Lines[$i]); $i++
            }
            if (-not $closed) { $Problems.Add("${Source}:$($start + 1): code fence is never closed") }
            $blocks.Add([pscustomobject]@{ Kind = 'code'; Level = 0; Text = ''; Lang = $lang; Lines = $code.ToArray(); Line = $start + 1 })
            $i++
            continue
        }
        if ($line -match '^(#{1,6})\s+(.*?)\s*#*\s*$') {
            $text = $null
            $blocks.Add([pscustomobject]@{ Kind = 'heading'; Level = $Matches[1].Length; Text = $Matches[2]; Lang = ''; Lines = @(); Line = $i + 1 })
            $i++
            continue
        }
        if ($line -match '^\s*$') { $text = $null; $i++; continue }
        if ($null -eq $text) {
            $text = [pscustomobject]@{ Kind = 'text'; Level = 0; Text = ''; Lang = ''; Lines = [System.Collections.Generic.List[string]]::new(); Line = $i + 1 }
            $blocks.Add($text)
        }
        $text.Lines.Add($line)
        $i++
    }
    return , $blocks
}

# Inline markdown to plain text: [text](target) becomes text (or "text (url)" for absolute urls
# when -KeepUrl); code spans keep their backticks, so `-Force` still reads as code.
function ConvertTo-PlainInline {
    param([string] $Text, [switch] $KeepUrl)
    $Text = [regex]::Replace($Text, '!?\[([^\]]*)\]\(([^)\s]*)[^)]*\)', {
        param($m)
        $label = $m.Groups[1].Value; $url = $m.Groups[2].Value
        if ($KeepUrl -and $url -match '^https?://' -and $label -ne $url) { "$label ($url)" } else { $label }
    })
    $Text = $Text -replace '<(https?://[^>]+)>', '$1'
    $Text = $Text -replace '\\([\\`*_{}\[\]()#+\-.!<>])', '$1'
    return $Text
}

# A run of text lines to paragraphs: list items become paragraphs of their own (with their
# marker), other lines are joined with spaces (markdown hard wraps are not line breaks).
function ConvertTo-Paragraph {
    param([string[]] $Lines, [switch] $KeepUrl)
    $paras = [System.Collections.Generic.List[string]]::new()
    $current = $null
    foreach ($raw in $Lines) {
        $line = $raw.TrimEnd()
        if ($line -match '^\s*([-*+]|\d+[.)])\s+(.*)$') {
            if ($null -ne $current) { $paras.Add($current) }
            $current = "$($Matches[1] -replace '^[*+]$', '-') $($Matches[2].Trim())"
        } elseif ($null -eq $current) {
            $current = $line.Trim()
        } else {
            $current += ' ' + $line.Trim()
        }
    }
    if ($null -ne $current) { $paras.Add($current) }
    return @($paras | ForEach-Object { ConvertTo-PlainInline $_ -KeepUrl:$KeepUrl })
}

# Blocks (text and code) to paragraphs; a code block becomes one paragraph, lines kept.
function ConvertFrom-BlockToParagraph {
    param([object[]] $Blocks)
    $paras = [System.Collections.Generic.List[string]]::new()
    foreach ($b in $Blocks) {
        if ($b.Kind -eq 'code') {
            if ($b.Lines.Count -gt 0) { $paras.Add((@($b.Lines | ForEach-Object { '    ' + $_ }) -join "`n")) }
        } elseif ($b.Kind -eq 'text') {
            foreach ($p in (ConvertTo-Paragraph $b.Lines)) { $paras.Add($p) }
        } elseif ($b.Kind -eq 'heading') {
            $paras.Add($b.Text)
        }
    }
    return $paras.ToArray()
}

function Read-YamlBlock {
    param([string[]] $Lines)
    $map = [ordered]@{}
    foreach ($l in $Lines) {
        if ($l -match '^\s*([A-Za-z][\w ]*?)\s*:\s*(.*?)\s*$') { $map[$Matches[1]] = $Matches[2] }
    }
    return $map
}

# "[[-Id] <String[]>] [-Force] -Name <String> [<CommonParameters>]" to parameter entries.
function Read-SyntaxLine {
    param([string] $Text)
    $elements = [System.Collections.Generic.List[string]]::new()
    $sb = [System.Text.StringBuilder]::new()
    $depth = 0
    for ($i = 0; $i -lt $Text.Length; $i++) {
        $c = $Text[$i]
        if ($c -eq '<') {
            $end = $Text.IndexOf('>', $i)
            if ($end -lt 0) { $end = $Text.Length - 1 }
            $null = $sb.Append($Text.Substring($i, $end - $i + 1)); $i = $end; continue
        }
        if ($c -eq '[') { $depth++ }
        elseif ($c -eq ']') { $depth-- }
        if ([char]::IsWhiteSpace($c) -and $depth -le 0) {
            if ($sb.Length -gt 0) { $elements.Add($sb.ToString()); $null = $sb.Clear() }
            continue
        }
        $null = $sb.Append($c)
    }
    if ($sb.Length -gt 0) { $elements.Add($sb.ToString()) }

    # "-Name <Type>" and "[-Name] <Type>" were split at the space: join the type back
    $merged = [System.Collections.Generic.List[string]]::new()
    foreach ($e in $elements) {
        if ($e.StartsWith('<') -and $e -ne '<CommonParameters>' -and $merged.Count -gt 0) { $merged[$merged.Count - 1] += " $e" }
        else { $merged.Add($e) }
    }

    $result = [System.Collections.Generic.List[object]]::new()
    foreach ($e in $merged) {
        $optional = $false
        $inner = $e
        # optional when the bracket opening the element closes at its very end
        if ($inner.StartsWith('[') -and $inner.EndsWith(']')) {
            $d = 0; $closeAt = -1
            for ($k = 0; $k -lt $inner.Length; $k++) {
                $ch = $inner[$k]
                if ($ch -eq '<') { $gt = $inner.IndexOf('>', $k); if ($gt -gt 0) { $k = $gt }; continue }
                if ($ch -eq '[') { $d++ } elseif ($ch -eq ']') { $d--; if ($d -eq 0) { $closeAt = $k; break } }
            }
            if ($closeAt -eq $inner.Length - 1) { $optional = $true; $inner = $inner.Substring(1, $inner.Length - 2).Trim() }
        }
        if ($inner -match '^\[-([\w]+)\]\s*(<(.+)>)?$') {
            $result.Add([pscustomobject]@{ Name = $Matches[1]; Required = -not $optional; Positional = $true; Type = $(if ($Matches[3]) { $Matches[3] } else { '' }) })
        } elseif ($inner -match '^-([\w]+)\s*(<(.+)>)?$') {
            $result.Add([pscustomobject]@{ Name = $Matches[1]; Required = -not $optional; Positional = $false; Type = $(if ($Matches[3]) { $Matches[3] } else { '' }) })
        }
        # <CommonParameters> and anything else is not a parameter
    }
    return , $result.ToArray()
}

# --- one cmdlet page ---------------------------------------------------------------------------

function Read-CommandPage {
    param([System.IO.FileInfo] $File, [System.Collections.Generic.List[string]] $Problems,
          [System.Collections.Generic.List[string]] $Warnings)
    $src = $File.Name
    $lines = [System.IO.File]::ReadAllLines($File.FullName)
    $front = @{}
    $start = 0
    if ($lines.Count -gt 0 -and $lines[0].Trim() -eq '---') {
        $end = -1
        for ($i = 1; $i -lt $lines.Count; $i++) { if ($lines[$i].Trim() -eq '---') { $end = $i; break } }
        if ($end -lt 0) { $Problems.Add("${src}:1: front matter (---) is never closed"); return $null }
        foreach ($l in $lines[1..($end - 1)]) { if ($l -match '^\s*([\w ]+?)\s*:\s*(.*?)\s*$') { $front[$Matches[1]] = $Matches[2] } }
        $start = $end + 1
    }
    $body = if ($start -lt $lines.Count) { $lines[$start..($lines.Count - 1)] } else { @() }
    $before = $Problems.Count
    $blocks = Split-MarkdownBlock -Lines $body -Source $src -Problems $Problems
    foreach ($b in $blocks) { $b.Line += $start }

    $expectedName = [IO.Path]::GetFileNameWithoutExtension($File.Name)
    $h1 = @($blocks | Where-Object { $_.Kind -eq 'heading' -and $_.Level -eq 1 })
    if ($h1.Count -eq 0) { $Problems.Add("${src}: no '# $expectedName' title"); return $null }
    $name = $h1[0].Text.Trim()
    if ($name -ne $expectedName) { $Problems.Add("${src}:$($h1[0].Line): title '# $name' does not match the file name ($expectedName)") }
    if ($name -notmatch '^(\w+)-(\w+)$') { $Problems.Add("${src}:$($h1[0].Line): '$name' is not a Verb-Noun command name"); return $null }
    $verb = $Matches[1]; $noun = $Matches[2]

    # sections: ## NAME -> blocks until the next ## (or #)
    $sections = [ordered]@{}
    $current = $null
    foreach ($b in $blocks) {
        if ($b.Kind -eq 'heading' -and $b.Level -le 2) {
            if ($b.Level -eq 1) { $current = $null; continue }
            $key = $b.Text.Trim().ToUpperInvariant()
            if ($KnownSections -notcontains $key) {
                $Problems.Add("${src}:$($b.Line): unknown section '## $($b.Text)' (expected one of: $($KnownSections -join ', '))")
                $current = $null; continue
            }
            if ($sections.Contains($key)) { $Problems.Add("${src}:$($b.Line): section '## $key' appears twice") }
            $current = [System.Collections.Generic.List[object]]::new()
            $sections[$key] = $current
            continue
        }
        if ($null -ne $current) { $current.Add($b) }
        elseif ($b.Kind -ne 'heading') { $Problems.Add("${src}:$($b.Line): content outside any '##' section") }
    }
    $get = { param($k) if ($sections.Contains($k)) { @($sections[$k]) } else { @() } }

    # SYNOPSIS, DESCRIPTION, NOTES
    $synopsis = @(ConvertFrom-BlockToParagraph (& $get 'SYNOPSIS'))
    if (-not $sections.Contains('SYNOPSIS')) { $Warnings.Add("${src}: no '## SYNOPSIS' section") }
    elseif ($synopsis.Count -eq 0) { $Warnings.Add("${src}: '## SYNOPSIS' is empty") }
    $description = @(ConvertFrom-BlockToParagraph (& $get 'DESCRIPTION'))
    if ($description.Count -eq 0) { $Warnings.Add("${src}: no DESCRIPTION text") }
    $notes = @(ConvertFrom-BlockToParagraph (& $get 'NOTES'))

    # PARAMETERS: ### -Name, text, one or more ```yaml blocks
    $parameters = [System.Collections.Generic.List[object]]::new()
    $p = $null
    foreach ($b in (& $get 'PARAMETERS')) {
        if ($b.Kind -eq 'heading') {
            $p = $null
            $h = $b.Text.Trim()
            if ($h -in @('CommonParameters', 'WorkflowCommonParameters')) { continue }
            if ($h -notmatch '^-(\w+)$') { $Problems.Add("${src}:$($b.Line): parameter heading '### $h' is not '### -Name'"); continue }
            $p = [pscustomobject]@{ Name = $Matches[1]; Line = $b.Line; DescBlocks = [System.Collections.Generic.List[object]]::new(); Yaml = [System.Collections.Generic.List[object]]::new() }
            $parameters.Add($p)
            continue
        }
        if ($null -eq $p) { continue }
        if ($b.Kind -eq 'code' -and $b.Lang -eq 'yaml') { $p.Yaml.Add((Read-YamlBlock $b.Lines)) }
        else { $p.DescBlocks.Add($b) }
    }
    $params = foreach ($q in $parameters) {
        if ($q.Yaml.Count -eq 0) { $Problems.Add("${src}:$($q.Line): parameter -$($q.Name) has no ```yaml block"); continue }
        $y = $q.Yaml[0]
        if (-not $y.Contains('Type') -or -not $y['Type']) { $Problems.Add("${src}:$($q.Line): parameter -$($q.Name): yaml has no Type"); continue }
        $desc = @(ConvertFrom-BlockToParagraph $q.DescBlocks.ToArray())
        if ($desc.Count -eq 0) { $Warnings.Add("${src}:$($q.Line): parameter -$($q.Name) has no description") }
        $sets = @{}
        foreach ($yy in $q.Yaml) {
            $names = if ($yy.Contains('Parameter Sets')) { @($yy['Parameter Sets'] -split ',' | ForEach-Object { $_.Trim() } | Where-Object { $_ }) } else { @('(All)') }
            foreach ($n in $names) { $sets[$n] = $yy }
        }
        [pscustomobject]@{
            Name        = $q.Name
            Description = $desc
            Type        = $y['Type']
            Aliases     = $(if ($y.Contains('Aliases') -and $y['Aliases']) { $y['Aliases'] } else { 'None' })
            Required    = $(if ($y.Contains('Required')) { $y['Required'] -match '^true$' } else { $false })
            Position    = $(if ($y.Contains('Position') -and $y['Position'] -match '^\d+$') { $y['Position'] } else { 'named' })
            Default     = $(if ($y.Contains('Default value') -and $y['Default value']) { $y['Default value'] } else { 'None' })
            Pipeline    = $(if ($y.Contains('Accept pipeline input') -and $y['Accept pipeline input']) { $y['Accept pipeline input'] } else { 'False' })
            Globbing    = $(if ($y.Contains('Accept wildcard characters')) { $y['Accept wildcard characters'] -match '^true$' } else { $false })
            Sets        = $sets
        }
    }
    $params = @($params)
    $byName = @{}
    foreach ($x in $params) { $byName[$x.Name] = $x }

    # SYNTAX: ```blocks, optionally under ### SetName
    $syntax = [System.Collections.Generic.List[object]]::new()
    $setName = $null
    foreach ($b in (& $get 'SYNTAX')) {
        if ($b.Kind -eq 'heading') { $setName = $b.Text.Trim(); continue }
        if ($b.Kind -ne 'code') { continue }
        $text = (($b.Lines -join ' ') -replace '\s+', ' ').Trim()
        if (-not $text) { continue }
        if (-not $text.StartsWith($name, [StringComparison]::OrdinalIgnoreCase)) {
            $Problems.Add("${src}:$($b.Line): syntax block does not start with '$name'"); continue
        }
        $entries = Read-SyntaxLine $text.Substring($name.Length)
        $positionalIndex = 0
        $items = foreach ($e in $entries) {
            $doc = $byName[$e.Name]
            if (-not $doc) { $Problems.Add("${src}:$($b.Line): syntax names -$($e.Name), which has no '### -$($e.Name)' under PARAMETERS"); continue }
            $y = $null
            if ($setName -and $doc.Sets.ContainsKey($setName)) { $y = $doc.Sets[$setName] }
            elseif ($doc.Sets.ContainsKey('(All)')) { $y = $doc.Sets['(All)'] }
            $position = 'named'
            if ($e.Positional) {
                $position = if ($y -and $y.Contains('Position') -and $y['Position'] -match '^\d+$') { $y['Position'] } else { [string] $positionalIndex }
                $positionalIndex++
            }
            [pscustomobject]@{ Doc = $doc; Required = $e.Required; Position = $position; IsSwitch = (-not $e.Type) }
        }
        $syntax.Add([pscustomobject]@{ SetName = $setName; Parameters = @($items) })
    }
    if ($syntax.Count -eq 0) { $Problems.Add("${src}: no syntax block under '## SYNTAX'") }

    # EXAMPLES: ### title, code blocks, remarks
    $examples = [System.Collections.Generic.List[object]]::new()
    $ex = $null
    foreach ($b in (& $get 'EXAMPLES')) {
        if ($b.Kind -eq 'heading') {
            $ex = [pscustomobject]@{ Title = $b.Text.Trim(); Line = $b.Line; Code = [System.Collections.Generic.List[string]]::new(); Remarks = [System.Collections.Generic.List[object]]::new() }
            $examples.Add($ex); continue
        }
        if ($null -eq $ex) { $Problems.Add("${src}:$($b.Line): text under '## EXAMPLES' before the first '### Example' heading"); continue }
        if ($b.Kind -eq 'code' -and $ex.Remarks.Count -eq 0) { $ex.Code.Add(($b.Lines -join "`n").TrimEnd()) }
        else { $ex.Remarks.Add($b) }
    }
    foreach ($e in $examples) {
        if ($e.Code.Count -eq 0) { $Problems.Add("${src}:$($e.Line): example '$($e.Title)' has no code block") }
    }
    if ($examples.Count -eq 0) { $Warnings.Add("${src}: no examples") }

    # INPUTS / OUTPUTS: ### TypeName + text; bare text is taken as one type
    $readTypes = {
        param($blocksIn)
        $types = [System.Collections.Generic.List[object]]::new()
        $t = $null
        foreach ($b in $blocksIn) {
            if ($b.Kind -eq 'heading') { $t = [pscustomobject]@{ Name = $b.Text.Trim(); Blocks = [System.Collections.Generic.List[object]]::new() }; $types.Add($t); continue }
            if ($null -eq $t) {
                $first = if ($b.Kind -eq 'text') { $b.Lines[0].Trim() } else { '' }
                $t = [pscustomobject]@{ Name = (ConvertTo-PlainInline $first); Blocks = [System.Collections.Generic.List[object]]::new() }
                $types.Add($t)
                if ($b.Kind -eq 'text' -and $b.Lines.Count -gt 1) { $b = [pscustomobject]@{ Kind = 'text'; Lines = @($b.Lines | Select-Object -Skip 1) } }
                else { continue }
            }
            $t.Blocks.Add($b)
        }
        , @($types | ForEach-Object { [pscustomobject]@{ Name = $_.Name; Description = @(ConvertFrom-BlockToParagraph $_.Blocks.ToArray()) } })
    }
    $inputs = & $readTypes (& $get 'INPUTS')
    $outputs = & $readTypes (& $get 'OUTPUTS')

    # RELATED LINKS
    $links = [System.Collections.Generic.List[object]]::new()
    if ($front.ContainsKey('online version') -and $front['online version']) {
        $links.Add([pscustomobject]@{ Text = 'Online Version:'; Uri = $front['online version'] })
    }
    foreach ($b in (& $get 'RELATED LINKS')) {
        if ($b.Kind -ne 'text') { continue }
        foreach ($l in $b.Lines) {
            foreach ($m in [regex]::Matches($l, '\[([^\]]+)\]\(([^)\s]*)[^)]*\)')) {
                $uri = $m.Groups[2].Value
                $links.Add([pscustomobject]@{ Text = $m.Groups[1].Value; Uri = $(if ($uri -match '^[a-z]+://') { $uri } else { '' }) })
            }
        }
    }

    if ($Problems.Count -gt $before) { return $null }
    return [pscustomobject]@{
        Name = $name; Verb = $verb; Noun = $noun; Synopsis = $synopsis; Description = $description
        Syntax = $syntax.ToArray(); Parameters = $params; Examples = $examples.ToArray()
        Inputs = $inputs; Outputs = $outputs; Notes = $notes; Links = $links.ToArray()
    }
}

# --- MAML ----------------------------------------------------------------------------------------

function Get-XmlSafe([string] $Text) {
    if ($null -eq $Text) { return '' }
    return ($Text -replace '[\x00-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]', '')
}

function Write-Paras {
    param([System.Xml.XmlWriter] $W, [string] $Element, [string] $Ns, [string[]] $Paras)
    $W.WriteStartElement($Element, $Ns)
    if (-not $Paras -or $Paras.Count -eq 0) { $W.WriteElementString('maml', 'para', $NsMaml, '') }
    foreach ($p in $Paras) { $W.WriteElementString('maml', 'para', $NsMaml, (Get-XmlSafe $p)) }
    $W.WriteEndElement()
}

function Write-ParameterElement {
    param([System.Xml.XmlWriter] $W, $Doc, [bool] $Required, [string] $Position, [switch] $InSyntax)
    $isSwitch = $Doc.Type -match '^(System\.Management\.Automation\.)?SwitchParameter$'
    $W.WriteStartElement('command', 'parameter', $NsCommand)
    $W.WriteAttributeString('required', $Required.ToString().ToLowerInvariant())
    $W.WriteAttributeString('variableLength', $(if ($Doc.Type -match '\[\]$') { 'true' } else { 'false' }))
    $W.WriteAttributeString('globbing', $Doc.Globbing.ToString().ToLowerInvariant())
    $W.WriteAttributeString('pipelineInput', $Doc.Pipeline)
    $W.WriteAttributeString('position', $Position)
    $W.WriteAttributeString('aliases', $(if ($Doc.Aliases -eq 'None') { 'none' } else { $Doc.Aliases }))
    $W.WriteElementString('maml', 'name', $NsMaml, $Doc.Name)
    Write-Paras $W 'description' $NsMaml $Doc.Description
    if (-not ($InSyntax -and $isSwitch)) {
        $W.WriteStartElement('command', 'parameterValue', $NsCommand)
        $W.WriteAttributeString('required', $(if ($isSwitch) { 'false' } else { 'true' }))
        $W.WriteAttributeString('variableLength', $(if ($Doc.Type -match '\[\]$') { 'true' } else { 'false' }))
        $W.WriteString($Doc.Type)
        $W.WriteEndElement()
    }
    $W.WriteStartElement('dev', 'type', $NsDev)
    $W.WriteElementString('maml', 'name', $NsMaml, $Doc.Type)
    $W.WriteElementString('maml', 'uri', $NsMaml, '')
    $W.WriteEndElement()
    $W.WriteElementString('dev', 'defaultValue', $NsDev, (Get-XmlSafe $Doc.Default))
    $W.WriteEndElement()
}

function Write-CommandElement {
    param([System.Xml.XmlWriter] $W, $Page)
    $W.WriteStartElement('command', 'command', $NsCommand)
    $W.WriteAttributeString('xmlns', 'maml', $null, $NsMaml)
    $W.WriteAttributeString('xmlns', 'command', $null, $NsCommand)
    $W.WriteAttributeString('xmlns', 'dev', $null, $NsDev)
    $W.WriteAttributeString('xmlns', 'MSHelp', $null, $NsMsHelp)

    $W.WriteStartElement('command', 'details', $NsCommand)
    $W.WriteElementString('command', 'name', $NsCommand, $Page.Name)
    $W.WriteElementString('command', 'verb', $NsCommand, $Page.Verb)
    $W.WriteElementString('command', 'noun', $NsCommand, $Page.Noun)
    Write-Paras $W 'description' $NsMaml $Page.Synopsis
    $W.WriteEndElement()

    Write-Paras $W 'description' $NsMaml $Page.Description

    $W.WriteStartElement('command', 'syntax', $NsCommand)
    foreach ($s in $Page.Syntax) {
        $W.WriteStartElement('command', 'syntaxItem', $NsCommand)
        $W.WriteElementString('maml', 'name', $NsMaml, $Page.Name)
        foreach ($sp in $s.Parameters) { Write-ParameterElement $W $sp.Doc $sp.Required $sp.Position -InSyntax }
        $W.WriteEndElement()
    }
    $W.WriteEndElement()

    $W.WriteStartElement('command', 'parameters', $NsCommand)
    foreach ($p in $Page.Parameters) { Write-ParameterElement $W $p $p.Required $p.Position }
    $W.WriteEndElement()

    foreach ($kind in @(@('inputTypes', 'inputType', $Page.Inputs), @('returnValues', 'returnValue', $Page.Outputs))) {
        $W.WriteStartElement('command', $kind[0], $NsCommand)
        foreach ($t in $kind[2]) {
            $W.WriteStartElement('command', $kind[1], $NsCommand)
            $W.WriteStartElement('dev', 'type', $NsDev)
            $W.WriteElementString('maml', 'name', $NsMaml, (Get-XmlSafe $t.Name))
            $W.WriteEndElement()
            Write-Paras $W 'description' $NsMaml $t.Description
            $W.WriteEndElement()
        }
        $W.WriteEndElement()
    }

    $W.WriteStartElement('maml', 'alertSet', $NsMaml)
    $W.WriteStartElement('maml', 'alert', $NsMaml)
    foreach ($n in $Page.Notes) { $W.WriteElementString('maml', 'para', $NsMaml, (Get-XmlSafe $n)) }
    $W.WriteEndElement()
    $W.WriteEndElement()

    $W.WriteStartElement('command', 'examples', $NsCommand)
    foreach ($e in $Page.Examples) {
        $W.WriteStartElement('command', 'example', $NsCommand)
        $W.WriteElementString('maml', 'title', $NsMaml, (Get-XmlSafe ("---------- $($e.Title) ----------")))
        $W.WriteElementString('dev', 'code', $NsDev, (Get-XmlSafe ($e.Code -join "`n`n")))
        $remarks = @(ConvertFrom-BlockToParagraph $e.Remarks.ToArray())
        # an empty last paragraph leaves a blank line before the next example
        if ($remarks.Count -gt 0) { $remarks += '' }
        Write-Paras $W 'remarks' $NsDev $remarks
        $W.WriteEndElement()
    }
    $W.WriteEndElement()

    $W.WriteStartElement('command', 'relatedLinks', $NsCommand)
    foreach ($l in $Page.Links) {
        $W.WriteStartElement('maml', 'navigationLink', $NsMaml)
        $W.WriteElementString('maml', 'linkText', $NsMaml, (Get-XmlSafe $l.Text))
        $W.WriteElementString('maml', 'uri', $NsMaml, (Get-XmlSafe $l.Uri))
        $W.WriteEndElement()
    }
    $W.WriteEndElement()

    $W.WriteEndElement()   # command:command
}

# --- about_*.md to about_*.help.txt ----------------------------------------------------------

function Format-Wrapped {
    param([string] $Text, [int] $Indent, [int] $Hanging = 0, [int] $Width = 80)
    $out = [System.Collections.Generic.List[string]]::new()
    $pad = ' ' * $Indent
    $line = $pad
    $first = $true
    foreach ($word in ($Text -split '\s+' | Where-Object { $_ })) {
        $empty = ($line.Trim().Length -eq 0)
        if (-not $empty -and ($line.Length + 1 + $word.Length) -gt $Width) {
            $out.Add($line.TrimEnd()); $line = (' ' * ($Indent + $Hanging)); $empty = $true; $first = $false
        }
        $line = if ($empty) { $line + $word } else { "$line $word" }
    }
    if ($line.Trim().Length -gt 0) { $out.Add($line.TrimEnd()) }
    return , $out.ToArray()
}

function Convert-AboutPage {
    param([System.IO.FileInfo] $File, [System.Collections.Generic.List[string]] $Problems)
    $src = $File.Name
    $topic = [IO.Path]::GetFileNameWithoutExtension($File.Name)
    $lines = [System.IO.File]::ReadAllLines($File.FullName)
    if ($lines.Count -gt 0 -and $lines[0].Trim() -eq '---') {
        $end = -1
        for ($i = 1; $i -lt $lines.Count; $i++) { if ($lines[$i].Trim() -eq '---') { $end = $i; break } }
        if ($end -lt 0) { $Problems.Add("${src}:1: front matter (---) is never closed"); return $null }
        $lines = if ($end + 1 -lt $lines.Count) { $lines[($end + 1)..($lines.Count - 1)] } else { @() }
    }
    $before = $Problems.Count
    $blocks = Split-MarkdownBlock -Lines $lines -Source $src -Problems $Problems
    if ($Problems.Count -gt $before) { return $null }

    $out = [System.Collections.Generic.List[string]]::new()
    $out.Add('TOPIC'); $out.Add("    $topic"); $out.Add('')
    foreach ($b in $blocks) {
        switch ($b.Kind) {
            'heading' {
                $h = ConvertTo-PlainInline $b.Text
                # the title (# about_X, ## about_X) is the TOPIC already
                if ($h.Trim() -ieq $topic) { continue }
                if ($out.Count -gt 0 -and $out[$out.Count - 1] -ne '') { $out.Add('') }
                if ($b.Level -le 2) { $out.Add($h.ToUpperInvariant()) } else { $out.Add("  $h") }
            }
            'code' {
                foreach ($l in $b.Lines) { $out.Add(('        ' + $l).TrimEnd()) }
                $out.Add('')
            }
            'text' {
                foreach ($p in (ConvertTo-Paragraph $b.Lines -KeepUrl)) {
                    if ($p -match '^(-|\d+[.)]) ') {
                        foreach ($l in (Format-Wrapped $p -Indent 4 -Hanging ($Matches[1].Length + 1))) { $out.Add($l) }
                    } else {
                        foreach ($l in (Format-Wrapped $p -Indent 4)) { $out.Add($l) }
                        $out.Add('')
                    }
                }
                if ($out[$out.Count - 1] -ne '') { $out.Add('') }
            }
        }
    }
    while ($out.Count -gt 0 -and $out[$out.Count - 1] -eq '') { $out.RemoveAt($out.Count - 1) }
    return [pscustomobject]@{ Topic = $topic; Text = (($out -join "`n") + "`n") }
}

# --- main ----------------------------------------------------------------------------------------

if (-not (Test-Path -LiteralPath $DocsPath -PathType Container)) { throw "Docs folder not found: $DocsPath" }
$problems = [System.Collections.Generic.List[string]]::new()
$warnings = [System.Collections.Generic.List[string]]::new()

$pageFiles = @(Get-ChildItem -LiteralPath $DocsPath -File -Filter '*-*.md' | Where-Object Name -notlike 'about_*' |
    Where-Object Name -cmatch '^[A-Z][A-Za-z]*-[A-Z][A-Za-z]*\.md$' | Sort-Object Name)   # Verb-Noun pages only, not docs such as failure-modes.md
$aboutFiles = @(Get-ChildItem -LiteralPath $DocsPath -File -Filter 'about_*.md' | Sort-Object Name)

$pages = @(foreach ($f in $pageFiles) { Read-CommandPage -File $f -Problems $problems -Warnings $warnings })
$pages = @($pages | Where-Object { $null -ne $_ })
$abouts = @(foreach ($f in $aboutFiles) { Convert-AboutPage -File $f -Problems $problems })
$abouts = @($abouts | Where-Object { $null -ne $_ })

if ($ExpectedCommand.Count -gt 0) {
    $documented = @($pageFiles | ForEach-Object { [IO.Path]::GetFileNameWithoutExtension($_.Name) })
    $noPage = @($ExpectedCommand | Where-Object { $documented -notcontains $_ })
    if ($noPage) { $warnings.Add("no help page in $(Split-Path -Leaf $DocsPath)/ for: $($noPage -join ', ')") }
    $extra = @($documented | Where-Object { $ExpectedCommand -notcontains $_ })
    if ($extra) { $warnings.Add("help pages for commands the module does not export: $($extra -join ', ')") }
}

foreach ($w in $warnings) { Write-Warning $w }
if ($problems.Count -gt 0) {
    throw ("$($problems.Count) problem(s) in the help pages in ${DocsPath}:`n  " + ($problems -join "`n  "))
}

$null = New-Item -ItemType Directory -Path $OutputPath -Force
$mamlPath = Join-Path $OutputPath "$ModuleName.dll-Help.xml"
if ($pages.Count -gt 0) {
    $settings = [System.Xml.XmlWriterSettings]::new()
    $settings.Indent = $true
    $settings.IndentChars = '  '
    $settings.NewLineChars = "`n"
    $settings.Encoding = [System.Text.UTF8Encoding]::new($false)
    $w = [System.Xml.XmlWriter]::Create($mamlPath, $settings)
    try {
        $w.WriteStartDocument()
        $w.WriteStartElement('helpItems', 'http://msh')
        $w.WriteAttributeString('schema', 'maml')
        foreach ($p in $pages) { Write-CommandElement $w $p }
        $w.WriteEndElement()
        $w.WriteEndDocument()
    } finally { $w.Dispose() }
    # parse it back: a writer bug must not ship an unreadable help file
    $null = [xml] (Get-Content -LiteralPath $mamlPath -Raw)
} else {
    $mamlPath = $null
}

$aboutOut = foreach ($a in $abouts) {
    $path = Join-Path $OutputPath "$($a.Topic).help.txt"
    [System.IO.File]::WriteAllText($path, $a.Text, [System.Text.UTF8Encoding]::new($false))
    $path
}

[pscustomobject]@{
    MamlPath   = $mamlPath
    Commands   = @($pages | ForEach-Object Name)
    AboutFiles = @($aboutOut)
    Warnings   = $warnings.ToArray()
}
