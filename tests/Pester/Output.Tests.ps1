# What a runbook's log or a monitoring tool gets from ConvertTo-Json and ConvertTo-Csv of every
# result type the module writes, here and through a job (remoting's serialization).

Describe 'Output for logs and tools' {
    BeforeAll {
        . $PSScriptRoot/TestHelpers.ps1
        Initialize-TestSuite
        $script:Ids = [System.Collections.Generic.List[string]]::new()

        function New-Running([string] $Prefix) {
            $id = New-TestId $Prefix
            $script:Ids.Add($id)
            New-Container -Id $id -RootFs $env:PSCD_TEST_ROOTFS -Command sleep, 100 -Label @{ tier = 'web' } -Start -ErrorAction Stop
        }

        # One of each result type, from real containers: an escalated stop (steps with kinds and
        # routes), an AlreadyStopped, a wait, a restore that stopped (a StopResult inside), a
        # ContainerInfo, an event and the supervisor.
        $a = New-Running 'out'
        $events = Get-ContainerEvent -Id $a.Id -Type Stop, Exit -MaxEvents 2 -Timeout 30 -AsJob
        Wait-Condition -Because 'the event listener is live' { $events.Verbose.Count -gt 0 } | Out-Null
        $stop = Stop-Container -Id $a.Id -Timeout 0
        $event = @($events | Receive-Job -Wait -AutoRemoveJob)[0]
        $b = New-Running 'out'
        $exec = Invoke-ContainerCommand -Id $b.Id -Command echo, hi
        Get-Container | Out-Null
        $script:Results = [ordered]@{
            StopResult     = $stop
            AlreadyStopped = Stop-Container -Id $a.Id
            WaitResult     = Wait-Container -Id $a.Id -Timeout 5
            RestoreResult  = Restore-ContainerState -Id $b.Id -StopRunning
            ContainerInfo  = Get-Container -Id $a.Id
            ContainerEvent = $event
            SupervisorInfo = Wait-Condition -Because 'this process holds the restart duty' { Get-ContainerSupervisor }
            StopStep       = $stop.Steps[0]
            ExecResult     = $exec
        }

        # Every enum-valued property of $Object (and of the objects and lists it holds), as
        # @{ Path; Name }: what a reader of the JSON or CSV must find as the name.
        function Get-EnumValue($Object, [string] $Path = '') {
            foreach ($p in $Object.PSObject.Properties) {
                $v = $p.Value
                if ($null -eq $v) { continue }
                if ($v -is [enum]) { [pscustomobject]@{ Path = "$Path$($p.Name)"; Name = $v.ToString() } }
                elseif ($v -is [PSContainerd.StopResult] -or $v -is [PSContainerd.StopStep]) { Get-EnumValue $v "$Path$($p.Name)." }
                elseif ($v -is [System.Collections.IList]) {
                    for ($i = 0; $i -lt $v.Count; $i++) { Get-EnumValue $v[$i] "$Path$($p.Name)[$i]." }
                }
            }
        }

        # The value at a Path of Get-EnumValue in a parsed JSON object.
        function Get-JsonValue($Parsed, [string] $Path) {
            $v = $Parsed
            foreach ($part in $Path -split '\.') {
                if ($part -match '^(.+)\[(\d+)\]$') { $v = $v[$Matches[1]][[int] $Matches[2]] } else { $v = $v[$part] }
            }
            $v
        }
    }

    AfterAll {
        Remove-TestContainers -Ids $script:Ids
    }

    It 'made one of each result type' {
        foreach ($k in $script:Results.Keys) { $script:Results[$k] | Should -Not -BeNullOrEmpty -Because $k }
        $script:Results.StopResult.Escalation | Should -Be 'Kill'
        $script:Results.AlreadyStopped.Outcome | Should -Be 'AlreadyStopped'
        $script:Results.RestoreResult.Stop | Should -Not -BeNullOrEmpty
    }

    It 'ConvertTo-Json of a <_> writes every enum as its name and no TimeSpan' -ForEach @(
        'StopResult', 'AlreadyStopped', 'WaitResult', 'RestoreResult', 'ContainerInfo', 'ContainerEvent', 'SupervisorInfo', 'StopStep', 'ExecResult'
    ) {
        $o = $script:Results[$_]
        $json = $o | ConvertTo-Json -Depth 6
        $parsed = $json | ConvertFrom-Json -AsHashtable
        $enums = @(Get-EnumValue $o)
        foreach ($e in $enums) {
            Get-JsonValue $parsed $e.Path | Should -BeExactly $e.Name -Because "$_.$($e.Path)"
        }
        $json | Should -Not -Match '"Ticks"' -Because 'a duration is written as milliseconds, not as a TimeSpan''s fields'
    }

    It 'ConvertTo-Csv of a <_> writes enum names, milliseconds, and no type names' -ForEach @(
        'StopResult', 'AlreadyStopped', 'WaitResult', 'RestoreResult', 'ContainerInfo', 'ContainerEvent', 'SupervisorInfo', 'StopStep', 'ExecResult'
    ) {
        $o = $script:Results[$_]
        $row = $o | ConvertTo-Csv | ConvertFrom-Csv
        foreach ($p in $o.PSObject.Properties | Where-Object { $_.Value -is [enum] }) {
            $row.($p.Name) | Should -BeExactly $p.Value.ToString() -Because "$_.$($p.Name)"
        }
        foreach ($cell in $row.PSObject.Properties) {
            $cell.Value | Should -Not -Match '^(System|PSContainerd)\.[\w.`\[\], ]+$' -Because "$_.$($cell.Name) is data, not a type name"
            $cell.Value | Should -Not -Match '^\d\d:\d\d:\d\d\.\d{7}$' -Because "$_.$($cell.Name) is not a TimeSpan's text"
        }
    }

    It 'a StopResult gives its durations as DurationMs and TimeToExitMs in JSON and CSV, and Duration stays a TimeSpan' {
        $r = $script:Results.StopResult
        $r.Duration | Should -BeOfType [timespan]
        $r.TimeToExitMs | Should -Be ([math]::Round($r.TimeToExit.TotalMilliseconds, 1))
        ($script:Results.ExecResult | ConvertTo-Json | ConvertFrom-Json).DurationMs | Should -Be $script:Results.ExecResult.DurationMs
        ($script:Results.ExecResult | ConvertTo-Csv | ConvertFrom-Csv).Command | Should -Be 'echo; hi'
        $r.DurationMs | Should -Be ([math]::Round($r.Duration.TotalMilliseconds, 1))
        ($r | ConvertTo-Json | ConvertFrom-Json).DurationMs | Should -Be $r.DurationMs
        [double] ($r | ConvertTo-Csv | ConvertFrom-Csv).DurationMs | Should -Be $r.DurationMs
        ($r | ConvertTo-Csv | ConvertFrom-Csv).Steps | Should -BeLike '*stop*kill*exited*'
        ($script:Results.ContainerInfo | ConvertTo-Csv | ConvertFrom-Csv).Labels | Should -BeLike '*tier=web*'
    }

    It 'an AlreadyStopped result claims no signal and no timeout' {
        $r = $script:Results.AlreadyStopped
        $r.Signal | Should -BeNullOrEmpty
        $r.Timeout | Should -BeNullOrEmpty
        $r.Escalation | Should -Be 'None'
        $r.ExitCode | Should -Be 137
    }

    It 'results that came through a job still write enum names in JSON' {
        $id = $script:Ids[0]
        $job = Start-Job -ArgumentList $script:ModulePath, $env:CONTAINERD_ADDRESS, $env:PSCD_TEST_ROOTFS {
            param($module, $address, $rootfs)
            $env:CONTAINERD_ADDRESS = $address
            Import-Module $module
            $id = "out-job-$([guid]::NewGuid().ToString('N').Substring(0, 8))"
            try {
                New-Container -Id $id -RootFs $rootfs -Command sleep, 100 -Start -ErrorAction Stop | Out-Null
                Stop-Container -Id $id -Timeout 0
                Wait-Container -Id $id -Timeout 5
                Restore-ContainerState -Id $id
                Get-Container -Id $id
            }
            finally { Remove-Container -Id $id -Force -ErrorAction SilentlyContinue }
        }
        $got = @($job | Wait-Job -Timeout 90 | Receive-Job)
        $job | Remove-Job -Force
        $got.Count | Should -Be 4
        $json = $got | ConvertTo-Json -Depth 6
        $parsed = @($json | ConvertFrom-Json -AsHashtable)
        $parsed[0]['Outcome'] | Should -BeExactly 'Stopped'
        $parsed[0]['Escalation'] | Should -BeExactly 'Kill'
        $parsed[0]['Steps'] | ForEach-Object { $_['Kind'] | Should -BeOfType [string]; $_['Route'] | Should -BeOfType [string] }
        $parsed[0]['DurationMs'] | Should -BeGreaterThan 0
        $parsed[1]['Condition'] | Should -BeExactly 'NotRunning'
        $parsed[2]['Action'] | Should -BeOfType [string]
        $parsed[3]['Status'] | Should -BeExactly 'Stopped'
    }
}
