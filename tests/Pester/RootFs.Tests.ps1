# New-Container -RootFs with a tar file (docker export output): unpacked for the container, and
# deleted with it by Remove-Container.

BeforeAll {
    . $PSScriptRoot/TestHelpers.ps1
    Assert-TestEnvironment
    Import-ModuleUnderTest
    $script:SavedNamespace = $env:CONTAINERD_NAMESPACE
    $env:CONTAINERD_NAMESPACE = 'pester-rootfs'
    $script:SavedStore = $env:PSCONTAINERD_ROOTFS_DIR
    $env:PSCONTAINERD_ROOTFS_DIR = Join-Path $TestDrive 'store'
    $script:Tar = Join-Path $TestDrive 'rootfs.tar'
    & tar --create --file $script:Tar --directory $env:PSCD_TEST_ROOTFS .
    if ($LASTEXITCODE -ne 0) { throw 'tar could not pack the test root filesystem' }
}

AfterAll {
    Get-Container | Remove-Container -Force -ErrorAction SilentlyContinue
    $env:CONTAINERD_NAMESPACE = $script:SavedNamespace
    $env:PSCONTAINERD_ROOTFS_DIR = $script:SavedStore
}

Describe 'New-Container -RootFs <tar>' {
    It 'runs a container from a tar file and removes the unpacked folder with it' {
        $id = New-TestId 'tar'
        $log = Join-Path $TestDrive "$id.log"
        New-Container -Id $id -RootFs $script:Tar -LogPath $log -Command /bin/sh, -c, 'echo from-tar' -Start | Out-Null
        (Wait-Container -Id $id -Timeout 20).ExitCode | Should -Be 0
        Get-ContainerLog -Id $id | Should -Be 'from-tar'
        $folder = Join-Path $env:PSCONTAINERD_ROOTFS_DIR "pester-rootfs/$id"
        Join-Path $folder 'bin/sh' | Should -Exist
        Remove-Container -Id $id
        $folder | Should -Not -Exist
    }

    It 'writes InvalidRootFs for a tar that does not unpack, and leaves no container and no folder' {
        $id = New-TestId 'tar'
        $bad = Join-Path $TestDrive 'broken.tar'
        Set-Content -LiteralPath $bad -Value 'not a tar'
        New-Container -Id $id -RootFs $bad -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'InvalidRootFs,*'
        Get-Container -Id $id -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        Join-Path $env:PSCONTAINERD_ROOTFS_DIR "pester-rootfs/$id" | Should -Not -Exist
    }
}
