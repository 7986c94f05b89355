namespace CohortGrains.Runtime.Storage;

/// <summary>
/// The cluster's membership table: every node writes a heartbeat row so operators can see who is running, how busy
/// each node is and who is draining. Membership is for eyes only: no work is assigned through it (nodes share work
/// by leased claims), so a stale row never blocks anything. Every <see cref="IGrainStore"/> keeps one; the separate
/// interface lets membership code depend on these three calls only.
/// </summary>
public interface IMembershipStore
{
    /// <summary>
    /// Inserts or updates the node's row (started_at is kept from the first call) and deletes the rows of nodes whose
    /// last heartbeat is older than now - <paramref name="forgetAfter"/> (nodes that died without deregistering).
    /// </summary>
    Task HeartbeatAsync(NodeHeartbeat heartbeat, TimeSpan forgetAfter, CancellationToken ct);

    /// <summary>Removes the node's row: the last step of a graceful drain.</summary>
    Task DeregisterAsync(string nodeId, CancellationToken ct);

    /// <summary>Every registered node, oldest first.</summary>
    Task<IReadOnlyList<NodeRecord>> ListNodesAsync(CancellationToken ct);
}

public sealed record NodeHeartbeat(
    string NodeId,
    string Address,
    DateTimeOffset StartedAt,
    DateTimeOffset Now,
    double TurnsPerSecond,
    int LeasesHeld,
    bool Draining);

public sealed record NodeRecord(
    string NodeId,
    string Address,
    DateTimeOffset StartedAt,
    DateTimeOffset HeartbeatAt,
    double TurnsPerSecond,
    int LeasesHeld,
    bool Draining);
