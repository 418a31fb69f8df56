namespace PSContainerd.Engine;

public enum LookupFailure
{
    NotFound,
    Ambiguous,
    Empty,
}

/// <summary>An id that names no container, or more than one (the candidates are listed).</summary>
public sealed class ContainerLookupException : Exception
{
    public ContainerLookupException(LookupFailure failure, string id, string message, IReadOnlyList<string>? candidates = null)
        : base(message)
    {
        Failure = failure;
        Id = id;
        Candidates = candidates ?? Array.Empty<string>();
    }

    public LookupFailure Failure { get; }

    public string Id { get; }

    public IReadOnlyList<string> Candidates { get; }
}
