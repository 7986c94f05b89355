-- Cluster membership: one row per running node, written by its heartbeat.

-- name: UpsertNode
-- leases_held counts this node's unexpired claims. A leased timer or outbox row is always already due (it was
-- claimed because it was), so both counts walk only the due part of their claim index, never the future rows.
INSERT INTO nodes (node_id, address, started_at, heartbeat_at, turns_per_second, leases_held, draining)
VALUES (@NodeId, @Address, @StartedAt, @Now, @TurnsPerSecond,
        (SELECT COUNT(*) FROM timers WHERE due_at <= @Now AND lease_owner = @NodeId AND lease_until > @Now)
      + (SELECT COUNT(*) FROM outbox WHERE status = 'pending' AND next_attempt_at <= @Now
                                       AND lease_owner = @NodeId AND lease_until > @Now),
        @Draining)
ON CONFLICT (node_id) DO UPDATE SET
    address = excluded.address,
    heartbeat_at = excluded.heartbeat_at,
    turns_per_second = excluded.turns_per_second,
    leases_held = excluded.leases_held,
    draining = excluded.draining;

-- name: ForgetSilentNodes
-- Nodes that died without deregistering; their leases have long expired.
DELETE FROM nodes WHERE heartbeat_at < @Before;

-- name: DeleteNode
DELETE FROM nodes WHERE node_id = @NodeId;

-- name: ListNodes
SELECT node_id, address, started_at, heartbeat_at, turns_per_second, leases_held, draining
FROM nodes
ORDER BY started_at, node_id;
