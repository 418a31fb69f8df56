namespace PSContainerd.Engine;

/// <summary>
/// Which of containerd's records a state follows: its CreatedAt (null until read). A record of
/// the same id with another CreatedAt is a container removed and created again, whose past (a
/// pending restart, an exit) is not this one's.
/// </summary>
internal sealed class RecordIdentity
{
    private readonly object _gate = new();
    private DateTime? _createdAt;

    /// <summary>containerd's CreatedAt of the record followed; null until read.</summary>
    public DateTime? CreatedAt
    {
        get
        {
            lock (_gate)
            {
                return _createdAt;
            }
        }
    }

    /// <summary>Notes the record followed from now on (read at a load, a restore, a restart decision).</summary>
    public void Bind(DateTime createdAt)
    {
        lock (_gate)
        {
            if (createdAt != DateTime.MinValue)
            {
                _createdAt = createdAt;
            }
        }
    }

    /// <summary>Whether a record with <paramref name="createdAt"/> is the one followed (true while either is unknown).</summary>
    public bool IsSame(DateTime createdAt)
    {
        lock (_gate)
        {
            return _createdAt is null || createdAt == DateTime.MinValue || _createdAt == createdAt;
        }
    }
}
