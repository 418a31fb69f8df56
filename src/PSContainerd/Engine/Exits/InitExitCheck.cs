using PSContainerd.Containerd;

namespace PSContainerd.Engine;

/// <summary>
/// Whether a <c>/tasks/exit</c> whose process id is the container id is the init process's. An
/// exec may be given the container's id as its exec id (<c>ctr task exec --exec-id web web</c>),
/// and then only the pid tells the two apart, as moby's monitor decides by <c>ei.Pid == c.Pid</c>.
/// Taking an exec's exit for the init's would record an exit (and a restart) while the task runs.
/// </summary>
internal static class InitExitCheck
{
    /// <summary>
    /// True when <paramref name="pid"/> is (or, as far as anyone can tell, was) the init's. The
    /// known init pid answers without a call; otherwise containerd is asked which pid its task's
    /// init has, so an exit is never taken for the init's while containerd says the init runs.
    /// </summary>
    public static async Task<bool> IsInitAsync(ContainerdClient client, ContainerState s, uint pid)
    {
        if (pid == 0 || (s.Loaded && (pid == s.Pid || pid == s.LastPid || !s.IsLive)))
        {
            // The init's, a duplicate of its exit, or a stale one of an earlier run: no task of this
            // state runs, so no exec can (the exit recorder drops what is not this run's).
            return true;
        }

        TaskInfo? task;
        try
        {
            task = await client.GetTaskAsync(s.Id).ConfigureAwait(false);
        }
        catch (ContainerdException)
        {
            // containerd cannot say: a loaded state's known init pid differs, so it is not the init's;
            // a first look has nothing better than the event.
            return !s.Loaded || s.Pid == 0;
        }

        return task is null || task.Pid == pid;
    }
}
