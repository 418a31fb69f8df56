# Bad input gets a specific ErrorRecord and changes nothing.

Describe 'Bad input' {
    BeforeAll {
        . $PSScriptRoot/TestHelpers.ps1
        Assert-TestEnvironment
        Import-ModuleUnderTest
        $script:RootFs = $env:PSCD_TEST_ROOTFS
        $script:Ids = [System.Collections.Generic.List[string]]::new()

        function New-TestContainer([string] $Prefix = 'bad', [switch] $Start) {
            $id = New-TestId $Prefix
            $script:Ids.Add($id)
            New-Container -Id $id -RootFs $script:RootFs -Command sleep, 100 -Start:$Start -ErrorAction Stop
        }

        # What every test checks afterwards: the container is as it was.
        function Assert-Unchanged($Before) {
            $now = Get-Container -Id $Before.Id -Namespace $Before.Namespace
            $now.Status | Should -Be $Before.Status
            $now.Pid | Should -Be $Before.Pid
        }
    }

    AfterEach {
        Remove-TestContainers -Ids $script:Ids
        $script:Ids.Clear()
    }

    Describe 'Unknown, ambiguous and empty ids' {
        It '<_> writes ContainerNotFound for an unknown id' -ForEach @(
            'Get-Container', 'Start-Container', 'Send-ContainerSignal', 'Suspend-Container', 'Resume-Container', 'Remove-Container'
        ) {
            $missing = New-TestId 'nosuch'
            $out = & $_ -Id $missing -ErrorVariable err -ErrorAction SilentlyContinue
            $out | Should -BeNullOrEmpty
            $err.Count | Should -Be 1
            $err[0].FullyQualifiedErrorId | Should -BeLike 'ContainerNotFound,*'
            $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
            "$($err[0])" | Should -BeLike "*$missing*"
        }

        It '<_> writes AmbiguousContainerId naming both candidates, and changes neither' -ForEach @(
            'Get-Container', 'Start-Container', 'Send-ContainerSignal', 'Suspend-Container', 'Remove-Container'
        ) {
            # Only generated 64-hex ids match by prefix, so two of them share one here.
            $base = ([guid]::NewGuid().ToString('N') + [guid]::NewGuid().ToString('N')).Substring(0, 12)
            $idOne = $base + ([guid]::NewGuid().ToString('N') + [guid]::NewGuid().ToString('N')).Substring(0, 52)
            $idTwo = $base + ([guid]::NewGuid().ToString('N') + [guid]::NewGuid().ToString('N')).Substring(0, 52)
            $script:Ids.Add($idOne); $script:Ids.Add($idTwo)
            $one = New-Container -Id $idOne -RootFs $script:RootFs -Command sleep, 100 -Start
            $two = New-Container -Id $idTwo -RootFs $script:RootFs -Command sleep, 100

            & $_ -Id $base -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty

            $err.Count | Should -Be 1
            $err[0].FullyQualifiedErrorId | Should -BeLike 'AmbiguousContainerId,*'
            $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
            "$($err[0])" | Should -BeLike "*$idOne*"
            "$($err[0])" | Should -BeLike "*$idTwo*"
            Assert-Unchanged $one
            Assert-Unchanged $two
        }

        It '<_> refuses an empty id at parameter binding' -ForEach @(
            'Get-Container', 'Start-Container', 'Send-ContainerSignal', 'Suspend-Container', 'Resume-Container', 'Remove-Container',
            'Stop-Container', 'Restart-Container', 'Wait-Container', 'Set-Container', 'Get-ContainerLog'
        ) {
            $cmd = $_
            { & $cmd -Id '' -ErrorAction Stop } | Should -Throw -ErrorId 'ParameterArgumentValidationError*'
        }

        It '<_> writes EmptyContainerId for a blank id' -ForEach @('Get-Container', 'Start-Container', 'Remove-Container') {
            & $_ -Id '   ' -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $err[0].FullyQualifiedErrorId | Should -BeLike 'EmptyContainerId,*'
        }
    }

    Describe 'New-Container arguments' {
        It 'refuses a -RootFs that does not exist' {
            $id = New-TestId
            $script:Ids.Add($id)
            New-Container -Id $id -RootFs (Join-Path $TestDrive 'no-such-dir') -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $err.Count | Should -Be 1
            $err[0].FullyQualifiedErrorId | Should -BeLike 'InvalidRootFs,*'
            "$($err[0])" | Should -BeLike '*does not exist*'
            Get-TestStatus $id | Should -BeNullOrEmpty
        }

        It 'refuses a -RootFs that is a file' {
            $file = Join-Path $TestDrive 'afile'
            Set-Content $file 'x'
            $id = New-TestId
            $script:Ids.Add($id)
            New-Container -Id $id -RootFs $file -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $err[0].FullyQualifiedErrorId | Should -BeLike 'InvalidRootFs,*'
            "$($err[0])" | Should -BeLike '*not a folder*'
            Get-TestStatus $id | Should -BeNullOrEmpty
        }

        It 'refuses a -RootFs on a non-file-system provider' {
            $id = New-TestId
            $script:Ids.Add($id)
            New-Container -Id $id -RootFs 'Env:\PATH' -ErrorVariable err -ErrorAction SilentlyContinue
            $err[0].FullyQualifiedErrorId | Should -BeLike 'InvalidRootFs,*'
            Get-TestStatus $id | Should -BeNullOrEmpty
        }

        It 'refuses restart policy <_>' -ForEach @('sometimes', 'on-failure:x', 'on-failure:-1', 'always:3', '') {
            $id = New-TestId
            $script:Ids.Add($id)
            $policy = $_
            if ($policy -eq '') {
                # An empty string is accepted by binding and refused by the parser.
            }
            New-Container -Id $id -RootFs $script:RootFs -RestartPolicy $policy -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $err.Count | Should -Be 1
            $err[0].FullyQualifiedErrorId | Should -BeLike 'InvalidRestartPolicy,*'
            Get-TestStatus $id | Should -BeNullOrEmpty
        }

        It 'refuses stop signal <_>' -ForEach @('0', '65', 'SIGFOO') {
            $id = New-TestId
            $script:Ids.Add($id)
            New-Container -Id $id -RootFs $script:RootFs -StopSignal $_ -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $err[0].FullyQualifiedErrorId | Should -BeLike 'InvalidSignal,*'
            Get-TestStatus $id | Should -BeNullOrEmpty
        }

        It 'refuses -StopTimeout below -1 at binding' {
            { New-Container -Id (New-TestId) -RootFs $script:RootFs -StopTimeout -2 -ErrorAction Stop } | Should -Throw -ErrorId 'ParameterArgumentValidationError*'
        }

        It 'refuses the container id <_>' -ForEach @('bad/id', '-leading', 'trailing-', 'a..b', 'has space', ('x' * 77)) {
            New-Container -Id $_ -RootFs $script:RootFs -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $err.Count | Should -Be 1
            $err[0].FullyQualifiedErrorId | Should -BeLike 'InvalidContainerId,*'
            @(Get-Container -ErrorAction Stop | Where-Object Id -EQ $_).Count | Should -Be 0
        }

        It 'accepts a 76-character id' {
            $id = (New-TestId 'long') + ('y' * 63)
            $id.Length | Should -Be 76
            $script:Ids.Add($id)
            (New-Container -Id $id -RootFs $script:RootFs).Id | Should -Be $id
        }

        It 'refuses an environment entry that is not NAME=value' {
            $id = New-TestId
            $script:Ids.Add($id)
            New-Container -Id $id -RootFs $script:RootFs -Environment 'A=1', 'NOEQUALS' -ErrorVariable err -ErrorAction SilentlyContinue
            $err[0].FullyQualifiedErrorId | Should -BeLike 'InvalidContainerSpec,*'
            Get-TestStatus $id | Should -BeNullOrEmpty
        }

        It "refuses a label under the module's own prefix" {
            $id = New-TestId
            $script:Ids.Add($id)
            New-Container -Id $id -RootFs $script:RootFs -Label @{ 'pscontainerd/state' = 'running' } -ErrorVariable err -ErrorAction SilentlyContinue
            $err[0].FullyQualifiedErrorId | Should -BeLike 'InvalidContainerSpec,*'
            Get-TestStatus $id | Should -BeNullOrEmpty
        }

        It 'writes ContainerExists for an id in use and leaves the existing container alone' {
            $c = New-TestContainer -Start
            New-Container -Id $c.Id -RootFs $script:RootFs -Label @{ new = 'yes' } -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $err[0].FullyQualifiedErrorId | Should -BeLike 'ContainerExists,*'
            $err[0].CategoryInfo.Category | Should -Be 'ResourceExists'
            Assert-Unchanged $c
            (Get-Container -Id $c.Id).Labels.ContainsKey('new') | Should -BeFalse
        }
    }

    Describe 'Send-ContainerSignal -Signal' {
        It 'refuses signal <_> before touching any container' -ForEach @('0', '65', 'SIGFOO', '-9') {
            $c = New-TestContainer -Start
            $signal = $_
            { Send-ContainerSignal -Id $c.Id -Signal $signal -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidSignal,*'
            # Also refused for ids arriving through the pipeline, and nothing is signalled.
            { $c | Send-ContainerSignal -Signal $signal -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidSignal,*'
            Assert-Unchanged $c
            Test-Path "/proc/$($c.Pid)" | Should -BeTrue
        }

        It 'accepts <_> as a signal' -ForEach @('SIGTERM', 'term', '15', 'RTMIN+2', 'SIGKILL') {
            # The kernel drops unhandled signals sent to a pid namespace's init, so the signal is
            # sent with -All: it reaches sleep (not init), whose default action ends it, and sh exits.
            $id = New-TestId 'sig'
            $script:Ids.Add($id)
            New-Container -Id $id -RootFs $script:RootFs -Command sh, -c, 'sleep 100; exit 7' -Start | Out-Null
            $c = Get-Container -Id $id
            Wait-Condition -Because 'sh has forked sleep' { "$(Get-Content -Raw "/proc/$($c.Pid)/task/$($c.Pid)/children" -ErrorAction SilentlyContinue)".Trim() } | Out-Null
            Send-ContainerSignal -Id $id -Signal $_ -All -ErrorVariable err -ErrorAction SilentlyContinue
            $err.Count | Should -Be 0
            Wait-Condition -Because "$_ ends sleep and sh exits" { (Get-TestStatus $id) -eq 'Stopped' } | Out-Null
            # SIGKILL also reaches init (the only signal that does from outside); the rest leave sh to exit 7.
            (Get-Container -Id $id).ExitCode | Should -Be $(if ($_ -eq 'SIGKILL') { 137 } else { 7 })
        }
    }

    Describe 'Foreign namespaces' {
        It '<Command> refuses namespace <Ns> without -Force' -ForEach @(
            @{ Command = 'Start-Container'; Ns = 'moby' }
            @{ Command = 'Send-ContainerSignal'; Ns = 'moby' }
            @{ Command = 'Suspend-Container'; Ns = 'k8s.io' }
            @{ Command = 'Resume-Container'; Ns = 'k8s.io' }
            @{ Command = 'Remove-Container'; Ns = 'moby' }
        ) {
            & $Command -Id 'anything' -Namespace $Ns -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $err.Count | Should -Be 1
            $err[0].FullyQualifiedErrorId | Should -BeLike 'ForeignNamespace,*'
            $err[0].CategoryInfo.Category | Should -Be 'PermissionDenied'
            "$($err[0])" | Should -BeLike '*-Force*'
        }

        It 'New-Container refuses moby without -Force and creates nothing' {
            $id = New-TestId 'fn'
            New-Container -Id $id -RootFs $script:RootFs -Namespace moby -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $err[0].FullyQualifiedErrorId | Should -BeLike 'ForeignNamespace,*'
            "$($err[0])" | Should -BeLike '*dockerd*'
            @(Get-Container -Namespace moby | Where-Object Id -EQ $id).Count | Should -Be 0
        }

        It 'lets Get-Container read a foreign namespace, and -Force act in it' {
            $id = New-TestId 'fn'
            try {
                $c = New-Container -Id $id -RootFs $script:RootFs -Command sleep, 100 -Namespace moby -Force
                $c.Namespace | Should -Be 'moby'
                (Get-Container -Id $id -Namespace moby).Id | Should -Be $id

                Remove-Container -Id $id -Namespace moby -ErrorVariable err -ErrorAction SilentlyContinue
                $err[0].FullyQualifiedErrorId | Should -BeLike 'ForeignNamespace,*'
                (Get-Container -Id $id -Namespace moby).Status | Should -Be 'Created'

                Remove-Container -Id $id -Namespace moby -Force
                @(Get-Container -Namespace moby | Where-Object Id -EQ $id).Count | Should -Be 0
            }
            finally {
                Remove-TestContainers -Ids $id -Namespace moby
            }
        }
    }

    Describe 'containerd not reachable' {
        BeforeAll {
            # A socket file with nothing listening: bound, never listened on.
            $script:DeadSocket = Join-Path $TestDrive 'dead.sock'
            $s = [System.Net.Sockets.Socket]::new([System.Net.Sockets.AddressFamily]::Unix, [System.Net.Sockets.SocketType]::Stream, [System.Net.Sockets.ProtocolType]::Unspecified)
            $s.Bind([System.Net.Sockets.UnixDomainSocketEndPoint]::new($script:DeadSocket))
            # Kept open (unlistened): .NET unlinks the socket file when it is disposed.
            $script:DeadSocketHandle = $s
            $script:RegularFile = Join-Path $TestDrive 'not-a-socket'
            Set-Content $script:RegularFile 'x'
        }

        AfterAll {
            $script:DeadSocketHandle.Dispose()
        }

        It '<Case>: Get-Container writes one ContainerdUnavailable naming the path' -ForEach @(
            @{ Case = 'missing path'; Path = '/tmp/pscd-no-such-dir/containerd.sock'; Why = '*does not exist*' }
            @{ Case = 'regular file'; Path = 'REGULAR'; Why = '*regular file*' }
            @{ Case = 'nothing listening'; Path = 'DEAD'; Why = '*nothing is listening*' }
        ) {
            $address = switch ($Path) { 'REGULAR' { $script:RegularFile } 'DEAD' { $script:DeadSocket } default { $Path } }
            $elapsed = Measure-Command {
                Get-Container -Address $address -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            }
            $err.Count | Should -Be 1
            $err[0].FullyQualifiedErrorId | Should -BeLike 'ContainerdUnavailable,*'
            $err[0].CategoryInfo.Category | Should -Be 'ConnectionError'
            "$($err[0])" | Should -BeLike "*$address*"
            "$($err[0])" | Should -BeLike $Why
            $elapsed.TotalSeconds | Should -BeLessThan 10
        }

        It 'reports an unreachable containerd once, not once per id' {
            Remove-Container -Id a, b, c -Force -Address $script:DeadSocket -ErrorVariable err -ErrorAction SilentlyContinue
            $err.Count | Should -Be 1
            $err[0].FullyQualifiedErrorId | Should -BeLike 'ContainerdUnavailable,*'
        }

        It 'New-Container writes ContainerdUnavailable' {
            New-Container -Id (New-TestId) -RootFs $script:RootFs -Address $script:RegularFile -ErrorVariable err -ErrorAction SilentlyContinue
            $err[0].FullyQualifiedErrorId | Should -BeLike 'ContainerdUnavailable,*'
        }
    }
}
