# What the engine reports of its background work reaches the caller's debug stream while a call
# lasts (`-Debug`), in the engine's words, with the socket and namespace it came from. The
# failure here is real: a restart whose root filesystem is gone.

BeforeAll {
    . $PSScriptRoot/TestHelpers.ps1
    Assert-TestEnvironment
    Import-ModuleUnderTest
    $script:Ns = 'pester-diag'

    # Restore-ContainerState in a fresh session (as after a reboot), its streams as lines:
    # "DEBUG: <message>" per debug record, "RESULT: <Action>" per result.
    function Invoke-RestoreInChildSession([string] $Id, [string] $Extra) {
        $p = Start-ChildSession -Namespace $script:Ns -Script @"
Restore-ContainerState -Id '$Id' $Extra 5>&1 | ForEach-Object {
    if (`$_ -is [System.Management.Automation.DebugRecord]) { 'DEBUG: ' + `$_.Message } else { 'RESULT: ' + `$_.Action }
}
"@
        try {
            $out = $p.StandardOutput.ReadToEndAsync()
            $err = $p.StandardError.ReadToEndAsync()
            if (-not $p.WaitForExit(120000)) { throw 'the child session did not end within 120 s' }
            $p.ExitCode | Should -Be 0 -Because $err.Result
            return @($out.Result -split "`n" | ForEach-Object { $_.TrimEnd() } | Where-Object { $_ })
        }
        finally {
            if (-not $p.HasExited) { $p.Kill($true) }
            $p.Dispose()
        }
    }
}

Describe 'Engine diagnostics on the debug stream' {
    BeforeEach {
        $script:Id = New-TestId 'diag'
        # A root filesystem of its own, so the test can take it away.
        $script:RootFs = Join-Path $TestDrive "rootfs-$($script:Id)"
        Copy-Item -LiteralPath $env:PSCD_TEST_ROOTFS -Destination $script:RootFs -Recurse
        New-Container -Id $script:Id -Namespace $script:Ns -RootFs $script:RootFs -Command sleep, 100 -RestartPolicy always -Start | Out-Null
        Stop-Container -Id $script:Id -Namespace $script:Ns -Timeout 0 | Out-Null
        # A fresh session's restore starts an 'always' container stopped before the host's last
        # boot (as dockerd does at its start); the stop's record is moved before the boot time,
        # standing in for a reboot. With its root filesystem gone, that start fails inside the
        # engine, where no caller waits for it.
        $btime = [long] ((Get-Content /proc/stat | Where-Object { $_ -like 'btime *' }) -split ' ')[1]
        $before = [DateTimeOffset]::FromUnixTimeSeconds($btime - 300).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'")
        & ctr --address $env:CONTAINERD_ADDRESS -n $script:Ns containers label $script:Id "pscontainerd/exited-at=$before" | Out-Null
        if ($LASTEXITCODE -ne 0) { throw "ctr containers label failed: $LASTEXITCODE" }
        Remove-Item -LiteralPath $script:RootFs -Recurse -Force
    }

    AfterEach {
        Remove-TestContainers -Ids $script:Id -Namespace $script:Ns
    }

    It 'Restore-ContainerState -Debug shows the failed restart of that container, raised during the call' {
        $lines = Invoke-RestoreInChildSession $script:Id '-Debug'
        $line = $lines | Where-Object { $_ -like "DEBUG: $($script:Id): restart by restore failed:*" } | Select-Object -First 1
        $line | Should -Not -BeNullOrEmpty -Because "the session wrote: $($lines -join ' | ')"
        $line | Should -BeLike "*(in namespace '$($script:Ns)' at '$($env:CONTAINERD_ADDRESS)')"
        # the result is still written; the debug line says what went wrong behind it
        @($lines | Where-Object { $_ -like 'RESULT: *' }).Count | Should -Be 1 -Because "the session wrote: $($lines -join ' | ')"
        (Get-Container -Id $script:Id -Namespace $script:Ns).Status | Should -Be 'Stopped'
    }

    It 'writes nothing to the debug stream without -Debug' {
        $lines = Invoke-RestoreInChildSession $script:Id ''
        @($lines | Where-Object { $_ -like 'DEBUG: *' }).Count | Should -Be 0
        @($lines | Where-Object { $_ -like 'RESULT: *' }).Count | Should -Be 1
    }
}

Describe 'Get-ContainerEvent -Type' {
    It 'takes every type the engine publishes, Diagnostic among them' {
        $engineTypes = (Get-Command Get-ContainerEvent).ImplementingType.Assembly.GetType('PSContainerd.Engine.EventTypes')::All
        $accepted = (Get-Command Get-ContainerEvent).Parameters['Type'].Attributes.Where({ $_ -is [System.Management.Automation.ValidateSetAttribute] })[0].ValidValues
        @($engineTypes | Sort-Object) | Should -Be @($accepted | Sort-Object)
        @($engineTypes) | Should -Contain 'Diagnostic'
    }
}
