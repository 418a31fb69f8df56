using PSContainerd.Containerd;

namespace PSContainerd.Engine;

/// <summary>Whether a signal reached the process: yes, no, or maybe (its RPC timed out or containerd went away mid-call).</summary>
internal enum Delivery
{
    Delivered,
    NotDelivered,
    MaybeDelivered,
}

/// <summary>
/// Sends a stop's signals to the container's init process, and says which way each went.
/// <para>
/// The stop signal and the deadline's SIGKILL go through the pidfd opened on the verified init
/// process (pid, start time, whole cgroup path: <see cref="InitProcessHandle"/>). That is what
/// <c>runc kill</c> does for the init process, without containerd's Kill RPC, the shim and a runc
/// exec in between: the signal is delivered when the call returns, so the grace period runs from
/// delivery, and a hung shim cannot leave its fate unknown. containerd's Kill is the fallback when
/// no pidfd could be opened or verified (the pid is not in the container's cgroup, it started
/// after the container's init), or when the kernel refuses the pidfd signal.
/// </para>
/// <para>
/// With the container's own pid namespace (the init process is its PID 1) the kernel kills every
/// other process in it when the init process dies: the pidfd SIGKILL is the whole kill. A
/// container that shares a pid namespace (or the host's) keeps its other processes: there the
/// SIGKILL is followed by containerd's Kill with <c>all</c> (runc signals every pid of the cgroup;
/// the shim also kills the rest when the init exits, containerd's shouldKillAllOnExit), not
/// waited for before the exit is.
/// </para>
/// </summary>
internal sealed class SignalRouter
{
    /// <summary>Signals are quick RPCs; a hung shim (containerd#12678) must not hold the stop past its bound.</summary>
    internal static readonly TimeSpan SignalDeadline = TimeSpan.FromSeconds(2);

    private readonly ContainerdClient _client;
    private readonly ContainerState _state;
    private readonly StopTimeline _timeline;
    private readonly InitProcessHandle? _handle;
    private readonly string _noHandle;
    private readonly bool _neverForced;
    private readonly Action<ContainerState, uint, ExitInfo?, string> _observeExit;
    private Task _killAll = Task.CompletedTask;
    private bool _killedByPidfd;

    /// <param name="handle">The verified init process's pidfd; null when it could not be opened or verified (<paramref name="noHandle"/> says why).</param>
    /// <param name="neverForced">A -1 stop: a refusal escalates nothing.</param>
    /// <param name="observeExit">Reports an exit containerd's "process already finished" revealed.</param>
    public SignalRouter(ContainerdClient client, ContainerState state, StopTimeline timeline, InitProcessHandle? handle, string noHandle, bool neverForced, Action<ContainerState, uint, ExitInfo?, string> observeExit)
    {
        _client = client;
        _state = state;
        _timeline = timeline;
        _handle = handle;
        _noHandle = noHandle;
        _neverForced = neverForced;
        _observeExit = observeExit;
    }

    /// <summary>The stop signal to the init process: through its pidfd, else containerd's Kill.</summary>
    public async Task<Delivery> SignalAsync(int signal)
    {
        string? pidfdFailed = TryPidfd(signal, StopStepKind.Signal);
        return pidfdFailed is null
            ? Delivery.Delivered
            : await ByKillRpcAsync(signal, all: false, StopStepKind.Signal, pidfdFailed).ConfigureAwait(false);
    }

    /// <summary>
    /// The deadline's SIGKILL: to the init process through its pidfd, then, when the init process
    /// is not PID 1 of a pid namespace of its own, containerd's Kill(all) for the rest of the
    /// cgroup (not awaited here); without a usable pidfd, containerd's Kill(all) alone, awaited.
    /// </summary>
    public async Task<Delivery> KillAsync()
    {
        // With its own pid namespace the init's death takes every other process of it along (the
        // kernel's zap_pid_ns_processes). A Kill(all) then would only hold the shim's process lock
        // while runc runs, and the exit event waits behind it (traced: 70 ms under load).
        bool alone = _handle?.LeadsPidNamespace == true;
        string? pidfdFailed = TryPidfd(Signals.SIGKILL, StopStepKind.Kill,
            alone ? "; PID 1 of its own pid namespace, the rest dies with it" : "; the rest through containerd's Kill next");
        if (pidfdFailed is not null)
        {
            return await ByKillRpcAsync(Signals.SIGKILL, all: true, StopStepKind.Kill, pidfdFailed).ConfigureAwait(false);
        }

        _killedByPidfd = true;
        if (!alone)
        {
            _killAll = KillRestAsync();
        }

        return Delivery.Delivered;
    }

    /// <summary>
    /// The last resort after SIGKILL went unanswered: SIGKILL straight to the init process
    /// through its pidfd (again, when the deadline's SIGKILL went that way too; it harms nothing).
    /// </summary>
    public void DirectKill()
    {
        if (_handle is null)
        {
            _timeline.Add(StopStepKind.DirectKill, $"skipped: {_noHandle}");
            return;
        }

        int errno = _handle.Send(Signals.SIGKILL);
        _timeline.Add(StopStepKind.DirectKill,
            errno == 0 ? $"SIGKILL to pid {_handle.Pid} through its pidfd{(_killedByPidfd ? " again" : string.Empty)}" : InitProcessHandle.Describe(errno),
            SignalRoute.Pidfd);
    }

    private async Task KillRestAsync()
    {
        try
        {
            await ByKillRpcAsync(Signals.SIGKILL, all: true, StopStepKind.Kill, null, afterPidfd: true).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // Belt and braces for the rest of the cgroup: its failure never fails the stop.
            _timeline.Add(StopStepKind.Kill, $"SIGKILL to every process through containerd's Kill failed: {e.Message}", SignalRoute.Containerd);
        }
    }

    /// <summary>Completes when the Kill(all) that followed a pidfd SIGKILL has answered (bounded by its deadline), so its step is in the result.</summary>
    public Task SettledAsync() => _killAll;

    /// <summary>Tries the pidfd; null when the signal went that way, else why containerd's Kill has to carry it.</summary>
    /// <param name="then">Appended to the step when the signal went through the pidfd.</param>
    private string? TryPidfd(int signal, StopStepKind kind, string then = "")
    {
        if (_handle is null)
        {
            return $"no verified pidfd: {_noHandle}";
        }

        int errno = _handle.Send(signal);
        if (errno == 0)
        {
            _timeline.Add(kind, $"{Signals.Name(signal)} to the init process (pid {_handle.Pid}) through its pidfd{then}", SignalRoute.Pidfd);
            return null;
        }

        if (errno == NativeMethods.ESRCH)
        {
            // Reaped already: nothing to signal; the exit sources are reporting it.
            _timeline.Add(kind, $"{Signals.Name(signal)}: the init process (pid {_handle.Pid}) had already exited", SignalRoute.Pidfd);
            return null;
        }

        string why = InitProcessHandle.Describe(errno);
        _timeline.Add(InitProcessHandle.IsRefusal(errno) ? StopStepKind.Refused : kind,
            $"{Signals.Name(signal)} to the init process (pid {_handle.Pid}) through its pidfd: {why}; trying containerd's Kill", SignalRoute.Pidfd);
        return $"the pidfd signal was {why}";
    }

    /// <param name="whyNotPidfd">Why the signal goes this way (null for the Kill(all) that follows a pidfd SIGKILL).</param>
    /// <param name="afterPidfd">The init process was SIGKILLed through its pidfd already: "process already finished" is the expected answer, not news of an exit.</param>
    private async Task<Delivery> ByKillRpcAsync(int signal, bool all, StopStepKind kind, string? whyNotPidfd, bool afterPidfd = false)
    {
        string target = all ? "every process" : "the init process";
        string via = "through containerd's Kill" + (whyNotPidfd is null ? string.Empty : $" ({whyNotPidfd})");
        try
        {
            await _client.KillAsync(_state.Id, signal, all, deadline: SignalDeadline).ConfigureAwait(false);
            _timeline.Add(kind, $"{Signals.Name(signal)} to {target} {via}", SignalRoute.Containerd);
            return Delivery.Delivered;
        }
        catch (ContainerdException e) when (e.Kind == ContainerdErrorKind.NotFound && afterPidfd)
        {
            // The usual answer: the init process died of the pidfd SIGKILL first, and with it its
            // pid namespace; the shim kills the rest of a shared one itself when the init exits.
            _timeline.Add(kind, $"{Signals.Name(signal)} to {target} {via}: the init process had already exited", SignalRoute.Containerd);
            return Delivery.Delivered;
        }
        catch (ContainerdException e) when (e.Kind == ContainerdErrorKind.NotFound)
        {
            // containerd's "process already finished": nothing to signal, the exit is on its way.
            _timeline.Add(kind, $"{Signals.Name(signal)} {via}: process already finished", SignalRoute.Containerd);
            _observeExit(_state, _state.Pid, null, "kill");
            return Delivery.Delivered;
        }
        catch (ContainerdException e) when (IsRefused(e))
        {
            // EACCES/EPERM from kill(2) in runc: a security module (AppArmor, SELinux) denies the
            // signal (moby#36809, #47720). Waiting gains nothing: the caller escalates at once.
            _timeline.Add(StopStepKind.Refused, $"{Signals.Name(signal)} to {target} {via} refused: {e.Message.ReplaceLineEndings(" ").Trim()}. A security module (AppArmor, SELinux) may deny the signal; {(_neverForced ? "a stop with no timeout is never forced" : "escalating without waiting")}", SignalRoute.Containerd);
            return Delivery.NotDelivered;
        }
        catch (ContainerdException e) when (MayHaveBeenDelivered(e))
        {
            // The call may have reached the shim before its deadline passed or the connection
            // dropped: the signal may be on its way, so the grace period still runs (moby waits
            // too after a failed stop signal, daemon/stop.go).
            _timeline.Add(kind, $"{Signals.Name(signal)} to {target} {via} may not have been delivered ({e.Kind}: {e.Message}){(kind == StopStepKind.Signal ? "; the grace period still runs" : string.Empty)}", SignalRoute.Containerd);
            return Delivery.MaybeDelivered;
        }
        catch (ContainerdException e)
        {
            _timeline.Add(kind, $"{Signals.Name(signal)} to {target} {via} failed: {e.Kind}: {e.Message}", SignalRoute.Containerd);
            return Delivery.NotDelivered;
        }
    }

    /// <summary>
    /// A signal RPC that ran out of time or lost its connection: the request may have reached the
    /// shim. containerd 1.6 answers a kill whose shim did not reply in time with gRPC Unknown
    /// "context deadline exceeded" (its own call to the shim carries our deadline), seen with a
    /// frozen shim; our own deadline gives DeadlineExceeded.
    /// </summary>
    internal static bool MayHaveBeenDelivered(ContainerdException e) =>
        e.Kind is ContainerdErrorKind.DeadlineExceeded or ContainerdErrorKind.Unavailable
        || (e.Kind == ContainerdErrorKind.Unknown && e.Message.Contains("deadline exceeded", StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// A signal the kernel refused. containerd 1.6's shim wraps runc's error as gRPC Unknown
    /// ("unknown error after kill: runc did not terminate successfully: exit status 1: permission
    /// denied"), so the text is what tells it apart; a PermissionDenied status counts too.
    /// </summary>
    internal static bool IsRefused(ContainerdException e) =>
        e.Kind == ContainerdErrorKind.PermissionDenied
        || (e.Kind == ContainerdErrorKind.Unknown
            && (e.Message.Contains("permission denied", StringComparison.OrdinalIgnoreCase)
                || e.Message.Contains("operation not permitted", StringComparison.OrdinalIgnoreCase)));
}
