# What a runbook author reads when the address or the container is wrong: unix:// addresses,
# a socket that is not containerd's, a start that fails.

Describe 'Messages' {
    BeforeAll {
        . $PSScriptRoot/TestHelpers.ps1
        Initialize-TestSuite
        $script:Ids = [System.Collections.Generic.List[string]]::new()
    }

    AfterEach {
        Remove-TestContainers -Ids $script:Ids
        $script:Ids.Clear()
    }

    Describe 'unix:// addresses' {
        BeforeAll {
            # A folder where a `unix:` read as a relative path would land, and nothing else.
            $script:Elsewhere = Join-Path $TestDrive 'elsewhere'
            New-Item -ItemType Directory -Path $script:Elsewhere | Out-Null
            $script:Socket = $env:CONTAINERD_ADDRESS
        }

        It 'takes unix:///path in -Address as the absolute path' {
            Push-Location $script:Elsewhere
            try {
                $id = New-TestId 'ux'
                $script:Ids.Add($id)
                $c = New-Container -Id $id -RootFs $env:PSCD_TEST_ROOTFS -Address "unix://$script:Socket" -ErrorAction Stop
                $c.Address | Should -Be $script:Socket
                (Get-Container -Id $id -Address "unix://$script:Socket" -ErrorAction Stop).Id | Should -Be $id
            }
            finally { Pop-Location }
        }

        It 'takes unix:///path in $env:CONTAINERD_ADDRESS as the absolute path' {
            $id = New-TestId 'ux'
            $script:Ids.Add($id)
            New-Container -Id $id -RootFs $env:PSCD_TEST_ROOTFS -ErrorAction Stop | Out-Null
            Push-Location $script:Elsewhere
            try {
                $env:CONTAINERD_ADDRESS = "unix://$script:Socket"
                $c = Get-Container -Id $id -ErrorAction Stop
                $c.Address | Should -Be $script:Socket
            }
            finally {
                $env:CONTAINERD_ADDRESS = $script:Socket
                Pop-Location
            }
        }
    }

    Describe 'a socket that answers but is not containerd' {
        BeforeAll {
            # Servers on unix sockets of this test: one answers as an HTTP/1.1 server does, one
            # writes a line of text (another daemon's banner); each then closes the connection.
            $script:Servers = foreach ($kind in 'http', 'text') {
                $path = Join-Path $TestDrive "$kind.sock"
                $listener = [System.Net.Sockets.Socket]::new([System.Net.Sockets.AddressFamily]::Unix, [System.Net.Sockets.SocketType]::Stream, [System.Net.Sockets.ProtocolType]::Unspecified)
                $listener.Bind([System.Net.Sockets.UnixDomainSocketEndPoint]::new($path))
                $listener.Listen(8)
                $reply = if ($kind -eq 'http') { "HTTP/1.1 400 Bad Request`r`nContent-Length: 0`r`nConnection: close`r`n`r`n" } else { "hello from another daemon`n" }
                $job = Start-ThreadJob -ArgumentList $listener, $reply {
                    param($listener, $reply)
                    while ($true) {
                        $c = try { $listener.Accept() } catch { return }
                        try {
                            $c.ReceiveTimeout = 2000
                            $buf = [byte[]]::new(4096)
                            try { $null = $c.Receive($buf) } catch { }
                            $null = $c.Send([Text.Encoding]::ASCII.GetBytes($reply))
                        }
                        finally { $c.Dispose() }
                    }
                }
                [pscustomobject]@{ Kind = $kind; Path = $path; Listener = $listener; Job = $job }
            }
        }

        AfterAll {
            foreach ($s in $script:Servers) {
                $s.Listener.Dispose()
                $s.Job | Stop-Job -PassThru | Remove-Job -Force
            }
        }

        It '<_> server: ContainerdUnavailable saying the socket does not speak containerd''s API' -ForEach 'http', 'text' {
            $server = $script:Servers | Where-Object Kind -eq $_
            $elapsed = Measure-Command {
                Get-Container -Address $server.Path -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            }
            $err.Count | Should -Be 1
            $err[0].FullyQualifiedErrorId | Should -BeLike 'ContainerdUnavailable,*'
            $err[0].CategoryInfo.Category | Should -Be 'ConnectionError'
            "$($err[0])" | Should -BeLike "*this socket does not speak containerd's API*"
            "$($err[0])" | Should -BeLike "*$($server.Path)*"
            $elapsed.TotalSeconds | Should -BeLessThan 10
        }
    }

    Describe 'a start that fails' {
        It 'names the container, from New-Container -Start and from Start-Container' {
            $id = New-TestId 'bad-start'
            $script:Ids.Add($id)
            New-Container -Id $id -RootFs $env:PSCD_TEST_ROOTFS -Command '/no/such/program' -Start -ErrorVariable err -ErrorAction SilentlyContinue | Out-Null
            $err.Count | Should -Be 1
            "$($err[0])" | Should -BeLike "*Container '$id' could not start*/no/such/program*"

            Start-Container -Id $id -ErrorVariable err2 -ErrorAction SilentlyContinue | Out-Null
            $err2.Count | Should -Be 1
            "$($err2[0])" | Should -BeLike "*Container '$id' could not start*"
            $err2[0].TargetObject | Should -Be $id
        }
    }
}
