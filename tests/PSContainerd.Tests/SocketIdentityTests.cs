using PSContainerd.Engine;
using Xunit;

namespace PSContainerd.Tests;

/// <summary>
/// The restart duty belongs to the socket, not to a path naming it: engines reaching the
/// fixture's containerd through a hard link to its socket share one duty with those using its
/// own path (a bind mount of the socket file gives the same inode, so the same answer).
/// </summary>
[Collection(ContainerdCollection.Name)]
public sealed class SocketIdentityTests
{
    private readonly ContainerdFixture _fx;

    public SocketIdentityTests(ContainerdFixture fx) => _fx = fx;

    [Fact]
    public async Task A_hard_link_to_the_socket_gives_one_supervisor_not_two()
    {
        string link = Path.Combine(_fx.Dir, $"hard-{Guid.NewGuid():N}"[..13] + ".sock");
        using (var ln = System.Diagnostics.Process.Start("ln", new[] { _fx.Address, link })!)
        {
            await ln.WaitForExitAsync();
            Assert.Equal(0, ln.ExitCode);
        }

        await using var scratch = new Scratch(_fx, "hardlink");
        try
        {
            var byPath = scratch.Open();
            await Containers.Until(() => Task.FromResult(byPath.IsSupervisor), TimeSpan.FromSeconds(5), "the engine on the socket's own path holds the duty");
            await using var byLink = ContainerEngine.CreateUnshared(link, scratch.Namespace);
            await byLink.ProbeAsync();
            // A contender tries every SupervisorLock.Poll: give it several chances to take a duty it must not get.
            await Task.Delay(TimeSpan.FromSeconds(2));
            Assert.True(byPath.IsSupervisor);
            Assert.False(byLink.IsSupervisor, "the engine on the hard link holds a second duty for the same socket");
            Assert.Equal(SupervisorLock.LockPathFor(_fx.Address, scratch.Namespace), SupervisorLock.LockPathFor(link, scratch.Namespace));
        }
        finally
        {
            File.Delete(link);
        }
    }
}
