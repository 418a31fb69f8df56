# Pester helpers for tests of containerised services: New-TestContainer / Remove-TestContainer and
# the Should operators -StopGracefully and -HaveExitCode (docs/testing.md).
#
# Dot-sourced by PSContainerd.psm1 only when Pester is already loaded (as it is inside Invoke-Pester),
# so an ordinary import pays nothing for them.

# What New-TestContainer puts on each container it makes, and Remove-TestContainer looks for.
$script:TestLabel = 'pscontainerd.test/session'
# The session is the process (its pid and start time), so a re-import of the module still finds
# what was made before it.
$script:TestSession = "$PID-$((Get-Process -Id $PID).StartTime.ToUniversalTime().Ticks)"

function New-TestContainer {
    <#
    .SYNOPSIS
        New-Container for tests: a fresh id unless -Id is given, and a label that Remove-TestContainer finds.
    .DESCRIPTION
        Takes every parameter of New-Container (and passes it on), with -Id optional: without it the
        id is 'test-' and 8 random hex digits. Each container gets the label
        pscontainerd.test/session=<this session's token>, so Remove-TestContainer in AfterAll or
        AfterEach removes exactly what this session made, whatever the test called it.
    .EXAMPLE
        $c = New-TestContainer -RootFs $rootfs -Command sh, -c, 'trap "exit 0" TERM; while :; do sleep 1; done' -Start
        $c | Should -StopGracefully -Within 5
    #>
    [CmdletBinding(SupportsShouldProcess)]
    [OutputType([PSContainerd.ContainerInfo])]
    param()

    dynamicparam {
        # New-Container's own parameters, so a test can use any of them (and new ones as they come)
        $dictionary = [System.Management.Automation.RuntimeDefinedParameterDictionary]::new()
        $common = [System.Management.Automation.Cmdlet]::CommonParameters + [System.Management.Automation.Cmdlet]::OptionalCommonParameters
        foreach ($p in (Get-Command -Name PSContainerd\New-Container).Parameters.Values) {
            if ($p.Name -in $common) { continue }
            $attributes = [System.Collections.ObjectModel.Collection[Attribute]]::new()
            foreach ($a in $p.Attributes) {
                if ($a -is [System.Management.Automation.ParameterAttribute] -and $p.Name -eq 'Id') {
                    $a = [System.Management.Automation.ParameterAttribute]@{ Position = $a.Position; Mandatory = $false; ParameterSetName = $a.ParameterSetName }
                }
                $attributes.Add($a)
            }
            $dictionary.Add($p.Name, [System.Management.Automation.RuntimeDefinedParameter]::new($p.Name, $p.ParameterType, $attributes))
        }
        $dictionary
    }

    end {
        $forward = @{} + $PSBoundParameters
        if (-not $forward.ContainsKey('Id')) { $forward.Id = 'test-' + [guid]::NewGuid().ToString('N').Substring(0, 8) }
        $labels = @{}
        if ($forward.ContainsKey('Label') -and $forward.Label) { foreach ($k in $forward.Label.Keys) { $labels[$k] = $forward.Label[$k] } }
        $labels[$script:TestLabel] = $script:TestSession
        $forward.Label = $labels
        PSContainerd\New-Container @forward
    }
}

function Remove-TestContainer {
    <#
    .SYNOPSIS
        Removes, killing them first, the containers New-TestContainer made in this session (or, with -AnySession, in any).
    .DESCRIPTION
        Finds containers by the label New-TestContainer puts on them, at -Address and in -Namespace
        (the module's defaults otherwise), and removes each with Remove-Container -Force. Writes
        nothing; a container already gone is not an error. Meant for AfterEach/AfterAll.
    .EXAMPLE
        AfterAll { Remove-TestContainer }
    #>
    [CmdletBinding(SupportsShouldProcess)]
    [OutputType([void])]
    param(
        # containerd's socket; default as every cmdlet of the module
        [string] $Address,
        # the containerd namespace; default as every cmdlet of the module
        [string] $Namespace,
        # every test container, whichever session made it (for a clean-up after a crashed run)
        [switch] $AnySession
    )
    $where = @{}
    if ($Address) { $where.Address = $Address }
    if ($Namespace) { $where.Namespace = $Namespace }
    $mine = @(PSContainerd\Get-Container @where | Where-Object {
            $_.Labels.ContainsKey($script:TestLabel) -and ($AnySession -or $_.Labels[$script:TestLabel] -eq $script:TestSession)
        })
    foreach ($c in $mine) {
        if ($PSCmdlet.ShouldProcess("$($c.Id) ($($c.Namespace) at $($c.Address))", 'Remove test container')) {
            $c | PSContainerd\Remove-Container -Force -ErrorAction SilentlyContinue -ErrorVariable failed
            foreach ($e in $failed) {
                if ($e.FullyQualifiedErrorId -notlike 'ContainerNotFound*') { Write-Error -ErrorRecord $e }
            }
        }
    }
}

# Should -StopGracefully [-Within N]: the container exits on its stop signal, with no SIGKILL, within
# N seconds (default: its own stop timeout). Takes a container (ContainerInfo, or an id) and stops it,
# or a StopResult already had.
function ShouldStopGracefully($ActualValue, [switch] $Negate, $Within, [string] $Because) {
    $result = $ActualValue
    if ($ActualValue -isnot [PSContainerd.StopResult]) {
        $stop = @{ ErrorAction = 'Stop' }
        if ($ActualValue -is [PSContainerd.ContainerInfo]) {
            $stop.Id = $ActualValue.Id; $stop.Address = $ActualValue.Address; $stop.Namespace = $ActualValue.Namespace
        } else {
            $stop.Id = [string] $ActualValue
        }
        if ($null -ne $Within) { $stop.Timeout = [int] [math]::Ceiling([double] $Within) }
        $result = PSContainerd\Stop-Container @stop
    }

    $toExit = if ($null -ne $result.TimeToExit) { $result.TimeToExit } else { $result.Duration }
    $inTime = $null -eq $Within -or $toExit.TotalSeconds -le [double] $Within
    $graceful = "$($result.Outcome)" -eq 'Stopped' -and "$($result.Escalation)" -eq 'None' -and $inTime
    $because = if ($Because) { " because $Because" } else { '' }
    $how = if ("$($result.Outcome)" -ne 'Stopped') { "its stop ended $($result.Outcome)$(if ($result.Error) { ": $($result.Error)" })" }
           elseif ("$($result.Escalation)" -ne 'None') { "it did not exit on $($result.Signal) within $($result.Timeout) s and was killed ($($result.Escalation)), exit code $($result.ExitCode)" }
           elseif (-not $inTime) { "it took $([math]::Round($toExit.TotalSeconds, 2)) s" }
           else { "it exited on $($result.Signal) in $([math]::Round($toExit.TotalSeconds, 2)) s with exit code $($result.ExitCode)" }
    $within = if ($null -ne $Within) { " within $Within s" } else { '' }
    $succeeded = if ($Negate) { -not $graceful } else { $graceful }
    [pscustomobject]@{
        Succeeded      = $succeeded
        FailureMessage = if ($succeeded) { $null }
                         elseif ($Negate) { "Expected container '$($result.Id)' not to stop gracefully$within$because, but $how." }
                         else { "Expected container '$($result.Id)' to stop gracefully$within$because, but $how." }
    }
}

# Should -HaveExitCode N: the ExitCode of a StopResult, WaitResult, ExecResult or ContainerInfo.
function ShouldHaveExitCode($ActualValue, $ExpectedValue, [switch] $Negate, [string] $Because) {
    $code = $ActualValue.ExitCode
    $equal = $null -ne $code -and [int] $code -eq [int] $ExpectedValue
    $succeeded = if ($Negate) { -not $equal } else { $equal }
    $because = if ($Because) { " because $Because" } else { '' }
    $what = if ($ActualValue.Id) { "'$($ActualValue.Id)'" } else { 'the result' }
    [pscustomobject]@{
        Succeeded      = $succeeded
        FailureMessage = if ($succeeded) { $null }
                         elseif ($Negate) { "Expected $what not to have exit code $ExpectedValue$because, but it did." }
                         else { "Expected $what to have exit code $ExpectedValue$because, but it has $(if ($null -eq $code) { 'none (no exit seen)' } else { $code })." }
    }
}

# Registered once per session: Pester refuses a second operator of the same name, and a re-import
# of the module makes new function objects.
foreach ($op in @(@{ Name = 'StopGracefully'; Test = ${function:ShouldStopGracefully} }, @{ Name = 'HaveExitCode'; Test = ${function:ShouldHaveExitCode} })) {
    if (-not (Pester\Get-ShouldOperator | Where-Object Name -EQ $op.Name)) {
        Pester\Add-ShouldOperator -Name $op.Name -Test $op.Test -InternalName "Should$($op.Name)"
    }
}
