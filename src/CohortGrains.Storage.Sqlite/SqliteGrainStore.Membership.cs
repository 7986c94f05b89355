using CohortGrains.Runtime.Storage;
using Dapper;

namespace CohortGrains.Storage.Sqlite;

/// <summary>Cluster membership (<see cref="IMembershipStore"/>): a single node lists itself like a cluster node does.</summary>
public sealed partial class SqliteGrainStore
{
    private static readonly SqlCatalog _nodesSql = SqlCatalog.Load(typeof(SqliteGrainStore).Assembly, ".Sql.nodes.sql");

    public Task HeartbeatAsync(NodeHeartbeat heartbeat, TimeSpan forgetAfter, CancellationToken ct) =>
        WriteAsync(async (c, tx) =>
        {
            var now = Instant.ToMs(heartbeat.Now);
            await c.ExecuteAsync(new CommandDefinition(_nodesSql["UpsertNode"], new
            {
                heartbeat.NodeId, heartbeat.Address, StartedAt = Instant.ToMs(heartbeat.StartedAt), Now = now,
                heartbeat.TurnsPerSecond, heartbeat.LeasesHeld, Draining = heartbeat.Draining ? 1 : 0,
            }, tx, cancellationToken: ct));
            return await c.ExecuteAsync(new CommandDefinition(_nodesSql["ForgetSilentNodes"],
                new { Before = now - (long)forgetAfter.TotalMilliseconds }, tx, cancellationToken: ct));
        }, ct);

    public Task DeregisterAsync(string nodeId, CancellationToken ct) =>
        WriteAsync(async (c, tx) => await c.ExecuteAsync(new CommandDefinition(_nodesSql["DeleteNode"],
            new { NodeId = nodeId }, tx, cancellationToken: ct)), ct);

    public async Task<IReadOnlyList<NodeRecord>> ListNodesAsync(CancellationToken ct)
    {
        await using var c = await OpenAsync(ct);
        var rows = await c.QueryAsync<NodeData>(new CommandDefinition(_nodesSql["ListNodes"], cancellationToken: ct));
        return rows.Select(r => r.ToRecord()).ToList();
    }

    private sealed class NodeData
    {
        public string NodeId { get; set; } = "";
        public string Address { get; set; } = "";
        public long StartedAt { get; set; }
        public long HeartbeatAt { get; set; }
        public double TurnsPerSecond { get; set; }
        public long LeasesHeld { get; set; }
        public long Draining { get; set; }

        public NodeRecord ToRecord() => new(NodeId, Address, Instant.FromMs(StartedAt), Instant.FromMs(HeartbeatAt),
            TurnsPerSecond, (int)LeasesHeld, Draining != 0);
    }
}
