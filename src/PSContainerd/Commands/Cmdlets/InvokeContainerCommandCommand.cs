using System.Management.Automation;
using PSContainerd.Engine;

namespace PSContainerd.Commands;

/// <summary>
/// <para type="synopsis">Runs a command inside running containers, as docker exec does, and returns its exit code and output.</para>
/// <para type="description">
/// Starts the command as an extra process in each container's running task, with the container's
/// own user, environment, working directory and capabilities, captures its stdout and stderr, and
/// waits for it to exit. A non-zero exit code is a result, not an error. -Timeout bounds the wait:
/// the process is then killed and the result says TimedOut. The container is not changed: no label
/// is written and its restart policy never sees the command's exit.
/// </para>
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "ContainerCommand", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low, HelpUri = HelpUris.Base + "Invoke-ContainerCommand.md")]
[OutputType(typeof(ExecResult))]
public sealed class InvokeContainerCommandCommand : ContainerIdCmdlet
{
    /// <summary>The program and its arguments, as an array (no shell unless you name one: sh, -c, '...').</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNullOrEmpty]
    public string[] Command { get; set; } = Array.Empty<string>();

    /// <summary>NAME=VALUE pairs added to the container's environment for this command (a name given again replaces the container's value).</summary>
    [Parameter]
    [ValidateNotNull]
    [Alias("Env")]
    public string[] Environment { get; set; } = Array.Empty<string>();

    /// <summary>The working directory inside the container; default: the container's own.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? WorkingDirectory { get; set; }

    /// <summary>Seconds to wait for the command; then it is sent SIGKILL and the result says TimedOut. -1 (default): no limit (Ctrl+C still ends the wait and kills the command).</summary>
    [Parameter]
    [ValidateRange(-1, int.MaxValue)]
    [Alias("t")]
    public int Timeout { get; set; } = -1;

    /// <summary>Act in a namespace another manager owns (moby, k8s.io).</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void BeginProcessing()
    {
        foreach (var e in Environment)
        {
            if (e.IndexOf('=') <= 0)
            {
                ThrowTerminatingError(ErrorRecords.InvalidContainerSpec(nameof(Environment), e, "is not of the form NAME=value"));
            }
        }
    }

    protected override string? ShouldProcessAction => $"Run '{string.Join(' ', Command)}'";

    protected override bool ForceNamespace => Force;

    protected override async Task ActAsync(ContainerTarget target, IOutputSink sink, CancellationToken ct)
    {
        var request = new ExecRequest(Command, Environment, WorkingDirectory, Timeout < 0 ? null : TimeSpan.FromSeconds(Timeout));
        sink.Output(await target.Engine.ExecAsync(target.Id, request, ct).ConfigureAwait(false));
    }
}
