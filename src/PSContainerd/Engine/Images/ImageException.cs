namespace PSContainerd.Engine;

public enum ImageFailure
{
    /// <summary>No image by that name in the namespace's image store.</summary>
    NotFound,

    /// <summary>The image is there but its layers are not unpacked for the snapshotter asked for.</summary>
    NotUnpacked,

    /// <summary>The image cannot be run here: no manifest for this platform, a media type or user the module does not read.</summary>
    Unusable,
}

/// <summary>Why New-Container -Image could not make a container from an image.</summary>
public sealed class ImageException : Exception
{
    public ImageException(ImageFailure failure, string image, string message)
        : base(message)
    {
        Failure = failure;
        Image = image;
    }

    public ImageFailure Failure { get; }

    public string Image { get; }
}
