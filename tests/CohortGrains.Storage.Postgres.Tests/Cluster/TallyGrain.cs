using System.Text.Json;
using CohortGrains.Runtime.Grains;
using CohortGrains.Runtime.Storage;

namespace CohortGrains.Storage.Postgres.Tests.Cluster;

/// <summary>A timer or message delivered to a tally grain; <see cref="Id"/> is unique per delivery.</summary>
public sealed record Fire(string Id);

/// <summary>
/// A test grain that records, in its own state, every delivery it turned and on which node: "r17@node-2". Exactly-once
/// and the spread over nodes are then read back from the store, not counted by the test. Each node registers its own
/// instance, named after the node.
/// </summary>
public sealed class TallyGrain(string node, Action<Fire>? onDecide = null) : IGrainBehavior
{
    public const string TypeName = "Tally";

    public string Type => TypeName;

    public TurnDecision Decide(GrainId id, StoredGrain? current, object message, DateTimeOffset now, out object? state,
        Func<object?, TurnDecision.Reject?>? precondition = null)
    {
        var fire = (Fire)message;
        onDecide?.Invoke(fire);
        var fired = current is null ? [] : JsonSerializer.Deserialize<List<string>>(current.StateJson)!;
        if (precondition?.Invoke(fired) is { } refused)
        {
            state = null;
            return refused;
        }
        fired.Add($"{fire.Id}@{node}");
        state = fired;
        return new TurnDecision.Write(JsonSerializer.Serialize(fired), new GrainProjection(), [], [], [], []);
    }

    public object ReminderMessage(string name) => new Fire(name);
    public object DeserializeMessage(string json) => JsonSerializer.Deserialize<Fire>(json)!;
    public string SerializeMessage(object message) => JsonSerializer.Serialize((Fire)message);
    public object DeserializeState(string json) => JsonSerializer.Deserialize<List<string>>(json)!;

    /// <summary>Every delivery recorded by every tally grain in the schema: (delivery id, node) pairs, duplicates kept.</summary>
    public static async Task<List<(string Id, string Node)>> ReadTalliesAsync(string connectionString)
    {
        await using var c = new Npgsql.NpgsqlConnection(new Npgsql.NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString);
        await c.OpenAsync();
        await using var cmd = new Npgsql.NpgsqlCommand($"SELECT state FROM grains WHERE grain_type = '{TypeName}'", c);
        await using var reader = await cmd.ExecuteReaderAsync();
        var tallies = new List<(string, string)>();
        while (await reader.ReadAsync())
        {
            foreach (var entry in JsonSerializer.Deserialize<List<string>>(reader.GetString(0))!)
            {
                var at = entry.LastIndexOf('@');
                tallies.Add((entry[..at], entry[(at + 1)..]));
            }
        }
        return tallies;
    }
}
