# Which containers an -Id names, and where: exact names, wildcards, hex prefixes; every id of a
# call resolved before anything changes; results carry the socket they came from. Through the
# built module, against the private containerd of the test run.

BeforeAll {
    . $PSScriptRoot/TestHelpers.ps1
    Assert-TestEnvironment
    Import-ModuleUnderTest
    $script:ModuleManifest = (Resolve-Path $script:ModulePath).Path
    $script:SavedNamespace = $env:CONTAINERD_NAMESPACE
    $env:CONTAINERD_NAMESPACE = 'pester-ids'
    $script:RootFs = $env:PSCD_TEST_ROOTFS

    function New-Running([string] $Id) {
        New-Container -Id $Id -RootFs $script:RootFs -Command sleep, 1000 -Start -ErrorAction Stop | Out-Null
        $Id
    }

    # A docker-style generated id: 64 hex digits, starting with $Prefix.
    function New-HexId([string] $Prefix = '') {
        $hex = [guid]::NewGuid().ToString('N') + [guid]::NewGuid().ToString('N')
        ($Prefix + $hex).Substring(0, 64)
    }
}

AfterAll {
    Get-Container | Remove-Container -Force -ErrorAction SilentlyContinue
    $env:CONTAINERD_NAMESPACE = $script:SavedNamespace # later test files in this process expect theirs
}

Describe 'Id rules' {
    AfterEach {
        Get-Container | Remove-Container -Force -ErrorAction SilentlyContinue
    }

    It 'resolves an exact id without listing the namespace: Stop-Container reaches a container this session started while containerd does not answer' {
        $id = New-Running (New-TestId 'exact')
        $daemon = [int](Get-Content -LiteralPath (Join-Path $env:PSCD_TEST_DIR 'containerd.pid') -Raw).Trim()
        # containerd frozen for 3 s; SIGCONT from a child, so it comes whatever the stop does.
        & kill -STOP $daemon
        $thaw = Start-Process -FilePath sh -ArgumentList "-c `"sleep 3; kill -CONT $daemon`"" -PassThru
        try {
            $began = [datetime]::UtcNow
            $r = Stop-Container -Id $id -Signal SIGKILL -Timeout 0 -ErrorAction Stop
        }
        finally {
            & kill -CONT $daemon
            $thaw.WaitForExit(10000) | Out-Null
        }
        $r.Outcome | Should -Be 'Stopped'
        $sent = @($r.Steps | Where-Object { $_.Kind -in 'Signal', 'Kill' -and $_.Route -eq 'Pidfd' })
        $sent.Count | Should -BeGreaterThan 0 -Because ($r.Steps | Out-String)
        # Sent while containerd was still frozen: no List (which would wait out its deadline) came first.
        ($sent[0].At.ToUniversalTime() - $began).TotalSeconds | Should -BeLessThan 2.5 -Because ($r.Steps | Out-String)
    }

    It 'never matches a name by prefix: Remove-Container -Id pay -Force leaves payments-db alone' {
        $base = New-TestId 'pay'
        $victim = New-Running "$base-payments-db"
        Remove-Container -Id "$base-pay" -Force -ErrorVariable err -ErrorAction SilentlyContinue
        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'ContainerNotFound,*'
        Send-ContainerSignal -Id "$base-p" -ErrorVariable err2 -ErrorAction SilentlyContinue
        $err2[0].FullyQualifiedErrorId | Should -BeLike 'ContainerNotFound,*'
        (Get-Container -Id $victim).Status | Should -Be 'Running'
    }

    It 'accepts a unique prefix of a 64-hex id on every cmdlet' {
        $id = New-HexId
        New-Container -Id $id -RootFs $RootFs -Command sleep, 1000 | Out-Null
        $prefix = $id.Substring(0, 12)
        (Get-Container -Id $prefix).Id | Should -Be $id
        (Start-Container -Id $prefix).Id | Should -Be $id
        (Suspend-Container -Id $prefix -PassThru).Status | Should -Be 'Paused'
        (Resume-Container -Id $prefix -PassThru).Status | Should -Be 'Running'
        (Stop-Container -Id $prefix -Timeout 0).Id | Should -Be $id
        (Wait-Container -Id $prefix).Id | Should -Be $id
        Remove-Container -Id $prefix
        Get-Container -Id $id -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'writes AmbiguousContainerId for a hex prefix two ids share, naming both, and changes neither' {
        $shared = New-HexId 'abcd'
        $one = $shared.Substring(0, 10) + (New-HexId).Substring(10)
        $two = $shared.Substring(0, 10) + (New-HexId).Substring(10)
        New-Running $one | Out-Null
        New-Running $two | Out-Null
        Send-ContainerSignal -Id $shared.Substring(0, 8) -ErrorVariable err -ErrorAction SilentlyContinue
        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'AmbiguousContainerId,*'
        "$($err[0])" | Should -BeLike "*$one*"
        "$($err[0])" | Should -BeLike "*$two*"
        (Get-Container -Id $one, $two).Status | Should -Be 'Running', 'Running'
    }

    It 'acts on every container a wildcard matches, and a wildcard matching nothing is ContainerNotFound' {
        $base = New-TestId 'wild'
        $a = New-Running "$base-web-1"
        $b = New-Running "$base-web-2"
        $other = New-Running "$base-db"
        $r = Stop-Container -Id "$base-web-*" -Timeout 0
        $r.Id | Sort-Object | Should -Be $a, $b
        (Get-Container -Id $other).Status | Should -Be 'Running'
        Stop-Container -Id "$base-nothing-*" -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'ContainerNotFound,*'
    }

    It 'names the namespace and the socket in ContainerNotFound' {
        Stop-Container -Id 'no-such-thing' -ErrorVariable err -ErrorAction SilentlyContinue
        "$($err[0])" | Should -BeLike "*namespace 'pester-ids'*"
        "$($err[0])" | Should -BeLike "*$env:CONTAINERD_ADDRESS*"
    }
}

Describe 'Resolving before acting' {
    AfterEach {
        Get-Container | Remove-Container -Force -ErrorAction SilentlyContinue
    }

    It 'touches no container when an id of the call is unknown under -ErrorAction Stop (as Stop-Process)' {
        $base = New-TestId 'eas'
        $a = New-Running "$base-a"
        $b = New-Running "$base-b"
        { Stop-Container -Id $a, "$base-nosuch", $b -Timeout 0 -ErrorAction Stop } | Should -Throw -ErrorId 'ContainerNotFound,*'
        # Had either stop begun, -Timeout 0 would have killed it at once; give it the time that takes.
        $waits = Wait-Container -Id $a, $b -Timeout 3
        $waits.TimedOut | Should -Be $true, $true
        (Get-Container -Id $a, $b).Status | Should -Be 'Running', 'Running'
    }

    It '-WhatIf names each resolved container with its namespace and socket, and reports an unknown id as an error' {
        $base = New-TestId 'wi'
        $a = New-Running "$base-x1"
        $b = New-Running "$base-x2"
        # -WhatIf writes to the host, so a child pwsh runs it; there the socket is not the default one.
        $script = "Remove-Item env:CONTAINERD_ADDRESS; Import-Module '$ModuleManifest'; " +
            "Stop-Container -Address '$env:CONTAINERD_ADDRESS' -Id '$base-x*', '$base-gone' -WhatIf 2>&1 | ForEach-Object { `"`$_`" }"
        $text = (& dotnet pwsh -NoProfile -NonInteractive -Command $script) -join "`n"
        $text | Should -BeLike "*$a (namespace 'pester-ids', socket '$env:CONTAINERD_ADDRESS')*"
        $text | Should -BeLike "*$b (namespace 'pester-ids', socket '$env:CONTAINERD_ADDRESS')*"
        $text | Should -Not -BeLike "*What if*$base-x[*]*"
        $text | Should -Not -BeLike "*What if*$base-gone*"
        $text | Should -BeLike "*No container with id '$base-gone'*"
        (Get-Container -Id $a, $b).Status | Should -Be 'Running', 'Running'
    }
}

Describe 'Addresses travel with results' {
    AfterEach {
        Get-Container | Remove-Container -Force -ErrorAction SilentlyContinue
    }

    It 'Get-Container -Address B | Stop-Container acts on B, not on the default socket' {
        $real = $env:CONTAINERD_ADDRESS
        $id = New-Running (New-TestId 'addr')
        try {
            # The default socket now leads nowhere: only the piped Address can reach the container.
            $env:CONTAINERD_ADDRESS = Join-Path $TestDrive 'nothing-here.sock'
            $info = Get-Container -Address $real -Id $id
            $info.Address | Should -Be $real
            $r = $info | Stop-Container -Timeout 0
            $r.Address | Should -Be $real
            $r.Outcome | Should -Be 'Stopped'
            ($r | Wait-Container).Address | Should -Be $real
            ($info | Get-Container).Address | Should -Be $real
        } finally {
            $env:CONTAINERD_ADDRESS = $real
        }
    }

    It 'every result type carries Address and Namespace' {
        $id = New-Running (New-TestId 'types')
        $types = @(
            Get-Container -Id $id
            Stop-Container -Id $id -Timeout 0
            Wait-Container -Id $id
            Restore-ContainerState -Id $id
        )
        foreach ($t in $types) {
            $t.Address | Should -Be $env:CONTAINERD_ADDRESS -Because $t.GetType().Name
            $t.Namespace | Should -Be 'pester-ids' -Because $t.GetType().Name
        }
        $ev = Get-ContainerEvent -Id $id -Type Start -Timeout 10 -MaxEvents 1 -AsJob
        Wait-Condition -Because 'the job is listening' { $ev.Verbose.Count -gt 0 } | Out-Null
        Start-Container -Id $id | Out-Null
        $e = $ev | Receive-Job -Wait -AutoRemoveJob
        $e.Address | Should -Be $env:CONTAINERD_ADDRESS
    }

    It 'Restore-ContainerState and Get-ContainerEvent act in each piped item''s namespace' {
        $id = New-TestId 'nsr'
        try {
            foreach ($ns in 'pester-ids-a', 'pester-ids-b') {
                New-Container -Namespace $ns -Id "$id-$ns" -RootFs $RootFs -Command sleep, 1000 | Out-Null
            }
            $restored = 'pester-ids-a', 'pester-ids-b' | ForEach-Object { Get-Container -Namespace $_ } | Restore-ContainerState
            $restored.Namespace | Sort-Object | Should -Be 'pester-ids-a', 'pester-ids-b'
            $restored.Id | Sort-Object | Should -Be "$id-pester-ids-a", "$id-pester-ids-b"

            $job = 'pester-ids-a', 'pester-ids-b' | ForEach-Object { Get-Container -Namespace $_ } | Get-ContainerEvent -Type Start -MaxEvents 2 -Timeout 20 -AsJob
            Wait-Condition -Because 'the job is listening' { $job.Verbose.Count -gt 0 } | Out-Null
            Start-Container -Namespace 'pester-ids-a' -Id "$id-pester-ids-a" | Out-Null
            Start-Container -Namespace 'pester-ids-b' -Id "$id-pester-ids-b" | Out-Null
            $events = $job | Receive-Job -Wait -AutoRemoveJob
            $events.Namespace | Sort-Object | Should -Be 'pester-ids-a', 'pester-ids-b'
        } finally {
            'pester-ids-a', 'pester-ids-b' | ForEach-Object { Get-Container -Namespace $_ | Remove-Container -Force -ErrorAction SilentlyContinue }
        }
    }
}
