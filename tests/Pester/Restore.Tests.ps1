# Restore-ContainerState through the built module: state that outlives the session that made it.
# "Another session" is a real child pwsh process, killed or exited as a crashed runbook would be.

BeforeAll {
    . $PSScriptRoot/TestHelpers.ps1
    Assert-TestEnvironment
    Import-ModuleUnderTest
    $script:Ns = "pester-restore-$([guid]::NewGuid().ToString('N').Substring(0, 6))"
    $script:RootFs = $env:PSCD_TEST_ROOTFS
}

AfterAll {
    Get-Container -Namespace $Ns | Remove-Container -Force -ErrorAction SilentlyContinue
}

Describe 'Restore-ContainerState' {
    AfterEach {
        Get-Container -Namespace $Ns | Remove-Container -Force -ErrorAction SilentlyContinue
    }

    It 'finishes a stop whose session was killed mid-stop (ResumedStop, 137)' {
        $id = New-TestId 'killed'
        New-Container -Namespace $Ns -Id $id -RootFs $RootFs -Command '/bin/sleep', '1000' -Start | Out-Null
        # The child stops a SIGTERM-ignoring container with a 4 s grace period and is killed during it.
        $child = Start-ChildSession "Stop-Container -Id $id -Timeout 4"
        try {
            $intent = Wait-Condition -TimeoutSeconds 30 -Because 'the child session recorded its stop intent' {
                (Get-Container -Namespace $Ns -Id $id).Labels['pscontainerd/stop-intent']
            }
            $child.Kill($true)
            $child.WaitForExit(10000) | Should -BeTrue
            # The intent names its owner (SIGNAL;TIMEOUT;DEADLINE;PID:STARTTICKS): the process that
            # ran the stop, which may be a child of the one started (dotnet's tool host); the tree
            # kill does not wait for it.
            $owner = [int] ((@($intent)[-1] -split ';')[-1] -split ':')[0]
            Wait-Condition -TimeoutSeconds 10 -Because "the stop's owner process $owner is gone" {
                -not (Get-Process -Id $owner -ErrorAction SilentlyContinue)
            } | Out-Null
        } finally {
            if (-not $child.HasExited) { $child.Kill($true) }
        }
        (Get-Container -Namespace $Ns -Id $id).Status | Should -Be 'Running'

        $r = Restore-ContainerState -Namespace $Ns -Id $id
        $r.Action | Should -Be 'ResumedStop'
        $r.ExitCode | Should -Be 137
        (Get-Container -Namespace $Ns -Id $id).Status | Should -Be 'Stopped'
        (Get-Container -Namespace $Ns -Id $id).Labels.ContainsKey('pscontainerd/stop-intent') | Should -BeFalse
    }

    # A stop lives in the process that began it. These are the two ways a runbook leaves one
    # behind without killing anything: -AsJob at the end of a script, and Ctrl+C. Each session
    # waits until its stop intent is recorded, then ends normally.
    It 'finishes a stop left behind when its process ended: <Case>' -ForEach @(
        @{ Case = 'Stop-Container -AsJob, then the script ends'; Start = 'Stop-Container -Id ID -Timeout 4 -AsJob | Out-Null' }
        @{ Case = 'Stop-Container interrupted by Ctrl+C, then the script ends'; Start = '$ps = [powershell]::Create().AddScript("Import-Module ''MODULE''; Stop-Container -Id ID -Timeout 4"); $null = $ps.BeginInvoke()' }
    ) {
        $id = New-TestId 'left'
        New-Container -Namespace $Ns -Id $id -RootFs $RootFs -Command '/bin/sleep', '1000' -Start | Out-Null
        $script = ($Start -creplace 'MODULE', $script:ModulePath -creplace '\bID\b', $id) + @"

`$deadline = [datetime]::UtcNow.AddSeconds(30)
while (-not (Get-Container -Id $id).Labels['pscontainerd/stop-intent'] -and [datetime]::UtcNow -lt `$deadline) { Start-Sleep -Milliseconds 20 }
if (`$ps) { `$ps.Stop() } # what Ctrl+C does to the pipeline that runs the stop
'intent recorded'
"@
        $child = Start-ChildSession $script
        try {
            $out = $child.StandardOutput.ReadToEndAsync()
            $child.WaitForExit(60000) | Should -BeTrue -Because 'the session ends by itself'
            $out.Result | Should -BeLike '*intent recorded*'
        } finally {
            if (-not $child.HasExited) { $child.Kill($true) }
        }

        # the stop ended with its process: SIGTERM went out (sleep ignores it), SIGKILL never came
        $c = Get-Container -Namespace $Ns -Id $id
        $c.Status | Should -Be 'Running'
        $c.Labels['pscontainerd/stop-intent'] | Should -Not -BeNullOrEmpty

        $r = Restore-ContainerState -Namespace $Ns -Id $id
        $r.Action | Should -Be 'ResumedStop'
        $r.ExitCode | Should -Be 137
        (Get-Container -Namespace $Ns -Id $id).Status | Should -Be 'Stopped'
        (Get-Container -Namespace $Ns -Id $id).Labels.ContainsKey('pscontainerd/stop-intent') | Should -BeFalse
    }

    It 'records the real exit of a container that exited while no session watched, then reports Unchanged' {
        $id = New-TestId 'unwatched'
        # A namespace this session has not touched: no engine here watches it until Restore.
        $ns = "$Ns-u"
        try {
            # A session creates and starts it, then ends; the container exits 3 a moment later.
            $child = Start-ChildSession "New-Container -Namespace $ns -Id $id -RootFs '$RootFs' -Command '/bin/sh', '-c', 'sleep 1; exit 3' -Start | Out-Null"
            $child.WaitForExit(60000) | Should -BeTrue
            $child.ExitCode | Should -Be 0
            # The exit waits in containerd as a STOPPED task.
            Wait-Condition -TimeoutSeconds 20 -Because 'the task stopped' {
                (& ctr --address $env:CONTAINERD_ADDRESS --namespace $ns task ls) -match "^$id\s+\d+\s+STOPPED"
            } | Out-Null

            $first = Restore-ContainerState -Namespace $ns -Id $id
            $first.Action | Should -Be 'RecordedExit'
            $first.TaskStatus | Should -Be 'Stopped'
            $first.ExitCode | Should -Be 3
            (Get-Container -Namespace $ns -Id $id).ExitCode | Should -Be 3

            $second = Restore-ContainerState -Namespace $ns -Id $id
            $second.Action | Should -Be 'Unchanged'
        } finally {
            Get-Container -Namespace $ns | Remove-Container -Force -ErrorAction SilentlyContinue
        }
    }

    It 'reattaches a running container and keeps it running; -StopRunning stops it' {
        $id = New-TestId 'live'
        New-Container -Namespace $Ns -Id $id -RootFs $RootFs -Command '/bin/sh', '-c', "trap 'exit 0' TERM; sleep 1000 & wait" -Start | Out-Null
        Wait-ContainerTrap $id $Ns
        $r = Restore-ContainerState -Namespace $Ns -Id $id
        $r.Action | Should -BeIn 'Reattached', 'Unchanged'
        (Get-Container -Namespace $Ns -Id $id).Status | Should -Be 'Running'

        $s = Restore-ContainerState -Namespace $Ns -Id $id -StopRunning
        $s.Action | Should -Be 'Stopped'
        $s.ExitCode | Should -Be 0
    }

    It 'refuses a foreign namespace without -Force and changes nothing' {
        Restore-ContainerState -Namespace moby -ErrorVariable errs -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'ForeignNamespace,*'
    }

    It 'reports an unknown id as ContainerNotFound' {
        Restore-ContainerState -Namespace $Ns -Id 'no-such-container-xyz' -ErrorVariable errs -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'ContainerNotFound,*'
    }
}
