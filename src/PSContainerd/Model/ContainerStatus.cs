using Newtonsoft.Json;
using Newtonsoft.Json.Converters;

namespace PSContainerd;

/// <summary>A container's status as the module reports it.</summary>
[JsonConverter(typeof(StringEnumConverter))]
public enum ContainerStatus
{
    Unknown,
    Created,
    Running,
    Paused,
    Stopped,
    Restarting,
}
