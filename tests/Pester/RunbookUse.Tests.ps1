# What a runbook or a Pester test of a service needs from New-Container and Get-ContainerLog:
# logs with no -LogPath, bounded follows, environment, bind mounts and the host's network.

Describe 'Runbook use' {
    BeforeAll {
        . $PSScriptRoot/TestHelpers.ps1
        Initialize-TestSuite
        $script:Ids = [System.Collections.Generic.List[string]]::new()

        function New-Service([string[]] $Command, [hashtable] $With = @{}, [string] $Prefix = 'rb') {
            $id = New-TestId $Prefix
            $script:Ids.Add($id)
            $params = @{ Id = $id; RootFs = $env:PSCD_TEST_ROOTFS; Command = $Command }
            foreach ($k in $With.Keys) { $params[$k] = $With[$k] }
            New-Container @params -Start -ErrorAction Stop
        }
    }

    AfterEach {
        Remove-TestContainers -Ids $script:Ids
        $script:Ids.Clear()
    }

    Describe 'default logs' {
        It 'logs to a root-only folder under /var/log/pscontainerd without -LogPath, and Remove-Container deletes the file' {
            $c = New-Service 'sh', '-c', 'echo hello from the default log'
            $path = $c.Labels['pscontainerd/log-path']
            $path | Should -BeLike '/var/log/pscontainerd/default*/*.log'
            Wait-Container -Id $c.Id -Timeout 20 | Out-Null
            Get-ContainerLog -Id $c.Id | Should -Be 'hello from the default log'
            foreach ($folder in (Split-Path $path), '/var/log/pscontainerd') {
                (Get-Item $folder).UnixMode | Should -Be 'drwxr-x---' -Because "$folder holds logs a root shim writes"
                (Get-Item $folder).User | Should -Be 'root'
            }
            Remove-Container -Id $c.Id
            $path | Should -Not -Exist
        }

        It 'keeps no log with -NoLog' {
            $c = New-Service 'true' -With @{ NoLog = $true }
            $c.Labels.ContainsKey('pscontainerd/log-path') | Should -BeFalse
            Get-ContainerLog -Id $c.Id -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $err[0].FullyQualifiedErrorId | Should -BeLike 'NoContainerLog,*'
        }
    }

    Describe 'Get-ContainerLog' {
        It '-Wait -Timeout ends a follow of a container that never writes the awaited line' {
            $c = New-Service 'sleep', '100'
            $elapsed = Measure-Command {
                Get-ContainerLog -Id $c.Id -Wait -Timeout 2 -ErrorAction Stop | Should -BeNullOrEmpty
            }
            $elapsed.TotalSeconds | Should -BeGreaterOrEqual 1.9
            $elapsed.TotalSeconds | Should -BeLessThan 10
            (Get-Container -Id $c.Id).Status | Should -Be 'Running'
        }

        It 'finds a readiness line with -Wait -Timeout and no -LogPath' {
            $c = New-Service 'sh', '-c', 'sleep 1; echo starting; echo ready on 8080; sleep 100'
            $line = Get-ContainerLog -Id $c.Id -Wait -Timeout 20 | Where-Object { $_ -like 'ready*' } | Select-Object -First 1
            $line | Should -Be 'ready on 8080'
        }

        It '-Since leaves out lines written before it, -Timestamps gives the time of lines read while following' {
            $ctl = Join-Path $TestDrive 'ctl-since'
            New-Item -ItemType Directory -Path $ctl | Out-Null
            $c = New-Service 'sh', '-c', 'echo old; while [ ! -e /ctl/go ]; do sleep 0.1; done; echo new; sleep 100' -With @{ Mount = "${ctl}:/ctl:ro" }
            Get-ContainerLog -Id $c.Id -Wait -Timeout 20 | Select-Object -First 1 | Should -Be 'old'
            Start-Sleep -Milliseconds 50   # the file's last write is now strictly before $since
            $since = [datetime]::UtcNow
            Get-ContainerLog -Id $c.Id -Since $since | Should -BeNullOrEmpty
            Get-ContainerLog -Id $c.Id -Since 10m | Should -Be 'old'
            New-Item -ItemType File -Path (Join-Path $ctl 'go') | Out-Null
            $line = Get-ContainerLog -Id $c.Id -Wait -Since $since -Timestamps -Timeout 20 | Select-Object -First 1
            $line | Should -Match '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z new$'
            [datetime]::Parse($line.Split(' ')[0]).ToUniversalTime() | Should -BeGreaterOrEqual $since
        }

        It 'writes strings for one id and LogLine objects with Id, Line and Time for several' {
            $a = New-Service 'sh', '-c', 'echo from-a' -Prefix 'rblog'
            $b = New-Service 'sh', '-c', 'echo from-b' -Prefix 'rblog'
            Wait-Container -Id $a.Id, $b.Id -Timeout 20 | Out-Null
            $one = Get-ContainerLog -Id $a.Id
            $one | Should -BeOfType [string]
            $one | Should -Be 'from-a'
            $lines = Get-ContainerLog -Id $a.Id, $b.Id
            $lines | Should -HaveCount 2
            $lines | ForEach-Object { $_ | Should -BeOfType PSContainerd.LogLine }
            ($lines | Where-Object Id -eq $a.Id).Line | Should -Be 'from-a'
            ($lines | Where-Object Id -eq $b.Id).Line | Should -Be 'from-b'
            $lines[0].PSObject.Properties.Name | Should -Contain 'Time'
            # a wildcard may match several: objects even when it matches one
            (Get-ContainerLog -Id "$($a.Id.Substring(0, $a.Id.Length - 1))*") | Should -BeOfType PSContainerd.LogLine
        }
    }

    Describe 'New-Container -Env, -Mount and -Network' {
        It '-Env sets the process environment' {
            $c = New-Service 'sh', '-c', 'echo "$GREETING $TARGET"' -With @{ Env = 'GREETING=hello', 'TARGET=runbook' }
            Wait-Container -Id $c.Id -Timeout 20 | Out-Null
            Get-ContainerLog -Id $c.Id | Should -Be 'hello runbook'
        }

        It '-Mount binds host folders read-write, and read-only with :ro' {
            $in = Join-Path $TestDrive 'in'; $out = Join-Path $TestDrive 'out'
            New-Item -ItemType Directory -Path $in, $out | Out-Null
            Set-Content -Path (Join-Path $in 'x') -Value 'from the host'
            $c = New-Service 'sh', '-c', 'cat /in/x > /out/copy; if touch /in/new 2>/dev/null; then echo in-writable; else echo in-read-only; fi' -With @{ Mount = "${in}:/in:ro", "${out}:/out" }
            (Wait-Container -Id $c.Id -Timeout 20).ExitCode | Should -Be 0
            Get-Content (Join-Path $out 'copy') | Should -Be 'from the host'
            Join-Path $in 'new' | Should -Not -Exist
            Get-ContainerLog -Id $c.Id | Should -Be 'in-read-only'
        }

        It 'refuses -Mount <Spec> (a missing source, a relative destination, an unknown mode), creating nothing' -ForEach @(
            @{ Spec = '/no/such/folder:/data' }
            @{ Spec = 'TESTDRIVE:data' }
            @{ Spec = 'TESTDRIVE:/data:rx' }
        ) {
            $id = New-TestId 'rbm'
            $script:Ids.Add($id)
            New-Container -Id $id -RootFs $env:PSCD_TEST_ROOTFS -Mount ($Spec -replace 'TESTDRIVE', $TestDrive) -ErrorVariable err -ErrorAction SilentlyContinue | Out-Null
            $err[0].FullyQualifiedErrorId | Should -BeLike 'InvalidContainerSpec,*'
            Get-Container -Id $id -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        }

        It '-Network Host shares the host''s network: a web server in the container answers on the host' {
            $www = Join-Path $TestDrive 'www'
            New-Item -ItemType Directory -Path $www | Out-Null
            Set-Content -Path (Join-Path $www 'index.html') -Value 'served from the container'
            $probe = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
            $probe.Start(); $port = $probe.LocalEndpoint.Port; $probe.Stop()
            $c = New-Service 'sh', '-c', "readlink /proc/self/ns/net; exec httpd -f -p 127.0.0.1:$port -h /www" -With @{ Network = 'Host'; Mount = "${www}:/www:ro" }
            $body = Wait-Condition -TimeoutSeconds 20 -Because 'httpd answers on the host' {
                try { (Invoke-WebRequest "http://127.0.0.1:$port/index.html" -TimeoutSec 2).Content } catch { $null }
            }
            $body.Trim() | Should -Be 'served from the container'
            Get-ContainerLog -Id $c.Id | Select-Object -First 1 | Should -Be (Get-Item /proc/self/ns/net).LinkTarget
        }

        It 'without -Network the container has a network namespace of its own' {
            $c = New-Service 'readlink', '/proc/self/ns/net'
            Wait-Container -Id $c.Id -Timeout 20 | Out-Null
            Get-ContainerLog -Id $c.Id | Should -Not -Be (Get-Item /proc/self/ns/net).LinkTarget
        }
    }

    Describe 'docs/rootfs.md' {
        BeforeAll {
            # The recipe as the page writes it: the bash block of its "By hand" section.
            $page = Get-Content -Raw (Join-Path $PSScriptRoot '../../docs/rootfs.md')
            $byHand = $page.Substring($page.IndexOf('## By hand'))
            $script:Recipe = [regex]::Match($byHand, '```bash\n(.*?)```', 'Singleline').Groups[1].Value
        }

        It 'the by-hand busybox recipe makes a root filesystem that runs, with <Variant>' -ForEach @(
            @{ Variant = 'the relative-link loop'; Chroot = $false }
            @{ Variant = 'chroot and busybox --install -s'; Chroot = $true }
        ) {
            $script:Recipe | Should -Not -BeNullOrEmpty
            $dir = Join-Path $TestDrive ($Variant -replace '\W', '')
            New-Item -ItemType Directory -Path $dir | Out-Null
            $script = if ($Chroot) {
                ($script:Recipe -split "`n" | Where-Object { $_ -notmatch '^\s*(for |\[|done)' }) -join "`n"
                'chroot rootfs /bin/busybox --install -s /bin'
            } else { $script:Recipe }
            Push-Location $dir
            try {
                $script -join "`n" | bash -e
                $LASTEXITCODE | Should -Be 0
                (Get-Item rootfs/bin/sh).LinkTarget | Should -BeIn 'busybox', '/bin/busybox'
                $c = New-Service '/bin/sh', '-c', 'echo hello' -With @{ RootFs = './rootfs' }
            }
            finally { Pop-Location }
            (Wait-Container -Id $c.Id -Timeout 20).ExitCode | Should -Be 0
            Get-ContainerLog -Id $c.Id | Should -Be 'hello'
        }
    }
}
