namespace PSContainerd.Engine;

public enum RestartPolicyKind
{
    No,
    Always,
    UnlessStopped,
    OnFailure,
}

/// <summary>
/// docker's restart policies: <c>no</c>, <c>always</c>, <c>unless-stopped</c>, <c>on-failure[:N]</c>
/// (moby restartmanager semantics; N = 0 means no limit).
/// </summary>
public sealed record RestartPolicy(RestartPolicyKind Kind, int MaximumRetryCount = 0)
{
    public static readonly RestartPolicy No = new(RestartPolicyKind.No);

    public static bool TryParse(string? text, out RestartPolicy policy)
    {
        policy = No;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var parts = text.Trim().ToLowerInvariant().Split(':', 2);
        switch (parts[0])
        {
            case "no" when parts.Length == 1:
                return true;
            case "always" when parts.Length == 1:
                policy = new RestartPolicy(RestartPolicyKind.Always);
                return true;
            case "unless-stopped" when parts.Length == 1:
                policy = new RestartPolicy(RestartPolicyKind.UnlessStopped);
                return true;
            case "on-failure":
                int n = 0;
                if (parts.Length == 2 && (!int.TryParse(parts[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out n) || n < 0))
                {
                    return false;
                }

                policy = new RestartPolicy(RestartPolicyKind.OnFailure, n);
                return true;
            default:
                return false;
        }
    }

    /// <summary>
    /// Whether an exit should lead to a restart (moby's restartmanager.ShouldRestart): never after a
    /// manual stop; on-failure only for a non-zero exit and while the count is under N.
    /// </summary>
    public bool ShouldRestart(int exitCode, bool manuallyStopped, int restartCount) => Kind switch
    {
        RestartPolicyKind.Always => !manuallyStopped,
        RestartPolicyKind.UnlessStopped => !manuallyStopped,
        RestartPolicyKind.OnFailure => !manuallyStopped && exitCode != 0 && (MaximumRetryCount == 0 || restartCount < MaximumRetryCount),
        _ => false,
    };

    /// <summary>
    /// Whether a container found not running by Restore-ContainerState is started again. moby
    /// restores a daemon's containers with a fresh restart manager: a manual stop cancelled only
    /// the old one, so <c>always</c> restarts even a manually stopped container at the daemon's
    /// start, while <c>unless-stopped</c> does not. Here restore is not only run at a start: a
    /// manual stop holds until a start is called, and only a host restart since the stop (the
    /// analogue of dockerd's start) lets <c>always</c> override it. Unlike moby, on-failure also
    /// respects a manual stop: a stop's 137/143 is not a failure to recover from.
    /// </summary>
    /// <param name="hostRestartedSinceStop">The host booted after the exit was recorded.</param>
    public bool ShouldRestartOnRestore(int exitCode, bool manuallyStopped, int restartCount, bool hostRestartedSinceStop) =>
        (Kind == RestartPolicyKind.Always && (!manuallyStopped || hostRestartedSinceStop)) || ShouldRestart(exitCode, manuallyStopped, restartCount);

    public override string ToString() => Kind switch
    {
        RestartPolicyKind.Always => "always",
        RestartPolicyKind.UnlessStopped => "unless-stopped",
        RestartPolicyKind.OnFailure => MaximumRetryCount > 0 ? $"on-failure:{MaximumRetryCount}" : "on-failure",
        _ => "no",
    };
}
