using CohortGrains.Runtime.Storage;
using Dapper;

namespace CohortGrains.Storage.Postgres;

/// <summary>Cluster membership (<see cref="IMembershipStore"/>): the nodes table.</summary>
public sealed partial class PostgresGrainStore
{
    public async Task HeartbeatAsync(NodeHeartbeat heartbeat, TimeSpan forgetAfter, CancellationToken ct)
    {
        var now = Instant.Utc(heartbeat.Now);
        await using var c = await _dataSource.OpenConnectionAsync(ct);
        await using var tx = await c.BeginTransactionAsync(ct);
        await c.ExecuteAsync(Cmd("UpsertNode", new
        {
            heartbeat.NodeId, heartbeat.Address, StartedAt = Instant.Utc(heartbeat.StartedAt), Now = now,
            heartbeat.TurnsPerSecond, heartbeat.LeasesHeld, heartbeat.Draining,
        }, tx, ct));
        await c.ExecuteAsync(Cmd("ForgetSilentNodes", new { Before = now - forgetAfter }, tx, ct));
        await tx.CommitAsync(ct);
    }

    public async Task DeregisterAsync(string nodeId, CancellationToken ct)
    {
        await using var c = await _dataSource.OpenConnectionAsync(ct);
        await c.ExecuteAsync(Cmd("DeleteNode", new { NodeId = nodeId }, null, ct));
    }

    public async Task<IReadOnlyList<NodeRecord>> ListNodesAsync(CancellationToken ct)
    {
        await using var c = await _dataSource.OpenConnectionAsync(ct);
        var rows = await c.QueryAsync<NodeData>(Cmd("ListNodes", null, null, ct));
        return rows.Select(r => r.ToRecord()).ToList();
    }
}
