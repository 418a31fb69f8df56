using System.Text.Json;

namespace PSContainerd.Bench;

/// <summary>
/// A run's raw figures, saved next to the build output so the page and the chart can be drawn
/// again (`-Render`) without measuring again.
/// </summary>
internal sealed record Results(Machine Machine, List<Sample> Samples, Breakdown? Breakdown, BurstResult? Burst, int Bulk)
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public async Task Save(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        await File.WriteAllTextAsync(path, JsonSerializer.Serialize(this, Json));
    }

    public static async Task<Results> Load(string path) =>
        JsonSerializer.Deserialize<Results>(await File.ReadAllTextAsync(path), Json) ?? throw new InvalidDataException($"{path} holds no results");
}
