using PSContainerd.Containerd;

namespace PSContainerd.Engine;

/// <summary>A start of a container containerd's restart monitor watches (<see cref="ContainerdRestartLabels"/>): taken from the monitor while it runs, given back after.</summary>
public sealed partial class ContainerEngine
{
    /// <summary>
    /// Before a manual start: takes the status label away (the monitor, seeing a task it was told
    /// is stopped, would SIGKILL it) and holds <c>running</c> for the start's record to write
    /// back. Returns the status the label had, or null when the monitor does not watch it.
    /// </summary>
    private async Task<string?> HoldFromMonitorAsync(ContainerState s, CancellationToken ct)
    {
        if (!ContainerdRestartLabels.Owned(s.Labels))
        {
            return null;
        }

        string was = s.Labels.Get(ContainerdRestartLabels.Status) ?? s.Labels.Get(ContainerdRestartLabels.Held) ?? ContainerdRestartLabels.Stopped;
        var writes = ContainerdRestartLabels.Hold(s.Labels, ContainerdRestartLabels.Running).Concat(StateLabels.AdoptIfForeign(s.Labels)).ToArray();
        s.RefreshLabels((await StateStore.Write(s.Id, ct, writes).ConfigureAwait(false)).Labels);
        return was;
    }

    /// <summary>After a start that failed: the status the monitor had before, so it does what it did then.</summary>
    private async Task GiveBackToMonitorAsync(ContainerState s, string status)
    {
        try
        {
            s.RefreshLabels((await StateStore.Write(s.Id, CancellationToken.None, (ContainerdRestartLabels.Status, status), (ContainerdRestartLabels.Held, null)).ConfigureAwait(false)).Labels);
        }
        catch (ContainerdException e)
        {
            Diagnose(s.Id, $"the start failed and the status of containerd's restart monitor ({ContainerdRestartLabels.Status}={status}) could not be put back: {e.Message}");
        }
    }
}
