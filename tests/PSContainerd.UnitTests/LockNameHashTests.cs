using PSContainerd.Engine;
using Xunit;

namespace PSContainerd.UnitTests;

/// <summary>
/// The lock file's name and a container's byte in it are shared by every process that uses one
/// containerd socket, whatever version of the module each runs: a version that named them
/// otherwise would not exclude an older one. These are the names and offsets the module has
/// always given (SHA-256 of the same text), pinned.
/// </summary>
public sealed class LockNameHashTests
{
    [Theory]
    [InlineData("web", 1013451284043L)]
    [InlineData("db", 454481534075L)]
    [InlineData("a", 867894925258L)]
    [InlineData("", 653956264163L)]
    [InlineData("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", 1002581175976L)]
    [InlineData("é-ünï", 153524151502L)]
    public void A_container_keeps_its_byte_of_the_lock_file(string id, long offset) =>
        Assert.Equal(offset, ContainerLock.OffsetFor(id));

    [Fact]
    public void A_long_id_over_several_hash_blocks_keeps_its_byte() =>
        Assert.Equal(215802323114L, ContainerLock.OffsetFor(new string('x', 200)));

    [Fact]
    public void The_digest_is_SHA_256_at_every_padding_boundary()
    {
        // 55, 56, 63 and 64 bytes are where the length moves to a block of its own.
        var random = new Random(20);
        for (int length = 0; length <= 130; length++)
        {
            var text = new string(Enumerable.Range(0, length).Select(_ => (char)random.Next(0x20, 0x250)).ToArray());
            Assert.Equal(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)), LockNameHash.Of(text));
        }
    }

    [Theory]
    [InlineData(2049UL, 1234567UL, "default", "d45baec2221d60969d562a8660b50d84.lock")]
    [InlineData(64768UL, 42UL, "k8s.io", "e6047164e2c930fdba5e213087e4d1d3.lock")]
    [InlineData(0UL, 0UL, "", "a7cbda5744ed8cdc5378689a0b829406.lock")]
    public void A_socket_and_namespace_keep_their_lock_file_name(ulong dev, ulong ino, string ns, string name) =>
        Assert.Equal(name, LockFile.NameFor(new FileCalls.Stat(dev, ino, 1, FileCalls.S_IFSOCK, 0, 0), ns));
}
