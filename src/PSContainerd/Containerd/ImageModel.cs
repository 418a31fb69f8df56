namespace PSContainerd.Containerd;

/// <summary>A content descriptor (types.Descriptor): what a blob is, its digest and size.</summary>
public sealed record ContentDescriptor(string MediaType, string Digest, long Size);

/// <summary>An image in containerd's image store: a name pointing at a manifest or an index.</summary>
public sealed record ImageRecord(string Name, ContentDescriptor Target, IReadOnlyDictionary<string, string> Labels, DateTime? CreatedAt);
