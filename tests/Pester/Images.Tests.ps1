# New-Container -Image: containers from images in containerd's store (the fixture's busybox images,
# imported with ctr), each on its own writable snapshot, removed with the container.

BeforeAll {
    . $PSScriptRoot/TestHelpers.ps1
    Assert-TestEnvironment
    Import-ModuleUnderTest
    $script:SavedNamespace = $env:CONTAINERD_NAMESPACE
    $script:Ns = 'pester-images'
    $env:CONTAINERD_NAMESPACE = $script:Ns
    Import-TestImage -Namespace $script:Ns
    $script:Plain = 'pscd.test/busybox:latest'
    $script:Usr1 = 'pscd.test/busybox-usr1:latest'
    $script:Multi = 'pscd.test/busybox-multi:latest'
    # the fixture's images as other tools name theirs (tests/Fixtures/testimage.sh): in the store too
    $script:OtherTools = @('docker.io/library/pscd-busybox:latest', 'docker.io/library/pscd-busybox-quit:latest')
}

AfterAll {
    Get-Container | Remove-Container -Force -ErrorAction SilentlyContinue
    $env:CONTAINERD_NAMESPACE = $script:SavedNamespace
}

Describe 'New-Container -Image' {
    It "runs the image's command with its environment and working directory, and shows the image" {
        $id = New-TestId 'img'
        $log = Join-Path $TestDrive "$id.log"
        $c = New-Container -Id $id -Image $script:Plain -LogPath $log -Start
        $c.Image | Should -Be $script:Plain
        (Get-Container -Id $id).Image | Should -Be $script:Plain
        Wait-Condition -Because "$id printed its greeting" { (Get-Content -LiteralPath $log -ErrorAction SilentlyContinue) -contains 'hello from /tmp' } | Out-Null
        (Stop-Container -Id $id).ExitCode | Should -Be 0
        Remove-Container -Id $id
    }

    It "takes this host's manifest from a multi-platform index whatever its place in the index" {
        $id = New-TestId 'img'
        $log = Join-Path $TestDrive "$id.log"
        (New-Container -Id $id -Image $script:Multi -LogPath $log -Start).Image | Should -Be $script:Multi
        Wait-Condition -Because "$id printed its greeting" { (Get-Content -LiteralPath $log -ErrorAction SilentlyContinue) -contains 'hello from /tmp' } | Out-Null
        Get-Content -LiteralPath $log | Should -Not -Contain 'wrong platform'
        Remove-Container -Id $id -Force
    }

    It "-Command replaces the image's Cmd and -Env (-Environment) its variable of the same name" {
        $id = New-TestId 'img'
        $log = Join-Path $TestDrive "$id.log"
        New-Container -Id $id -Image $script:Plain -LogPath $log -Env 'GREETING=hi' -Command /bin/sh, -c, 'echo "$GREETING in $(pwd) as $(id -u)"' -Start | Out-Null
        (Wait-Container -Id $id -Timeout 20).ExitCode | Should -Be 0
        Get-ContainerLog -Id $id | Should -Be 'hi in /tmp as 0'
        Remove-Container -Id $id
    }

    It "Stop-Container sends the image's StopSignal, recorded as containerd's client and nerdctl record it" {
        $id = New-TestId 'img'
        $log = Join-Path $TestDrive "$id.log"
        $c = New-Container -Id $id -Image $script:Usr1 -LogPath $log -Start
        $c.StopSignal | Should -Be 'SIGUSR1'
        $c.Labels['io.containerd.image.config.stop-signal'] | Should -Be 'SIGUSR1'
        Wait-Condition -Because "$id trapped SIGUSR1" { (Get-Content -LiteralPath $log -ErrorAction SilentlyContinue) -contains 'ready' } | Out-Null
        $r = Stop-Container -Id $id -Timeout 20
        $r.Signal | Should -Be 'SIGUSR1'
        $r.Escalation | Should -Be 'None'
        $r.ExitCode | Should -Be 42
        Get-ContainerLog -Id $id | Should -Contain 'got USR1'
        Remove-Container -Id $id
    }

    It 'gives every container its own writable layer, kept across its starts, and leaves the -RootFs folder alone' {
        $a = New-TestId 'img'
        $b = New-TestId 'img'
        $mark = "written-by-$a"
        # exits 7 when it finds its own mark: only a second run of the same container can
        New-Container -Id $a -Image $script:Plain -Command /bin/sh, -c, "test -e /$mark && exit 7; echo one > /$mark" -Start | Out-Null
        (Wait-Container -Id $a -Timeout 20).ExitCode | Should -Be 0
        New-Container -Id $b -Image $script:Plain -Command /bin/sh, -c, "test ! -e /$mark" -Start | Out-Null
        (Wait-Container -Id $b -Timeout 20).ExitCode | Should -Be 0 -Because "$a's file is in $a's snapshot only"
        Start-Container -Id $a | Out-Null
        (Wait-Container -Id $a -Timeout 20).ExitCode | Should -Be 7 -Because "$a's file stays in its own layer"
        Join-Path $env:PSCD_TEST_ROOTFS $mark | Should -Not -Exist
        Remove-Container -Id $a, $b
    }

    It 'Remove-Container removes the snapshot of a container that ran and of one that never did' {
        $ran = New-TestId 'img'
        $never = New-TestId 'img'
        New-Container -Id $ran -Image $script:Plain -Command /bin/true -Start | Out-Null
        New-Container -Id $never -Image $script:Plain | Out-Null
        (Wait-Container -Id $ran -Timeout 20).ExitCode | Should -Be 0
        $keys = Get-TestSnapshotKey -Namespace $script:Ns
        $keys | Should -Contain $ran
        $keys | Should -Contain $never
        Remove-Container -Id $ran, $never
        $keys = Get-TestSnapshotKey -Namespace $script:Ns
        $keys | Should -Not -Contain $ran
        $keys | Should -Not -Contain $never
    }

    It 'writes ImageNotFound for an image the store does not hold, and creates nothing' {
        $id = New-TestId 'img'
        New-Container -Id $id -Image 'pscd.test/no-such-image:latest' -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'ImageNotFound,*'
        $err[0].Exception.Message | Should -BeLike "*No image 'pscd.test/no-such-image:latest' in namespace '$($script:Ns)'*"
        Get-Container -Id $id -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'writes ImageNotUnpacked for a snapshotter the image is not unpacked for, and creates nothing' {
        $id = New-TestId 'img'
        New-Container -Id $id -Image $script:Plain -Snapshotter native -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'ImageNotUnpacked,*'
        $err[0].Exception.Message | Should -BeLike "*not unpacked for snapshotter 'native'*ctr -n $($script:Ns) images unpack --snapshotter native*"
        Get-Container -Id $id -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        Get-TestSnapshotKey -Namespace $script:Ns -Snapshotter native | Should -Not -Contain $id
    }

    It 'completes -Image from the store of the namespace given' {
        $line = "New-Container -Namespace $($script:Ns) -Id x -Image busybox"
        $m = (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches
        $m.CompletionText | Sort-Object | Should -Be (@($script:Plain, $script:Usr1, $script:Multi) + $script:OtherTools | Sort-Object)
        $line = "New-Container -Namespace $($script:Ns) -Id x -Image usr1"
        (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Be $script:Usr1
        $line = 'New-Container -Namespace pester-images-empty -Id x -Image busybox'
        (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches | Should -BeNullOrEmpty
    }
}
