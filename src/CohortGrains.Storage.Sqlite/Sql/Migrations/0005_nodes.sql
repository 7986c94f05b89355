-- Why: cluster membership (DESIGN.md "Scaling out"). A single SQLite node is still a cluster of one: it heartbeats
-- its row like a PostgreSQL node, so GET /api/v1/cluster looks the same on both stores. Same table as the PostgreSQL
-- store's 0005; instants are INTEGER unix milliseconds like every other SQLite column.
CREATE TABLE nodes (
    node_id          TEXT    NOT NULL PRIMARY KEY,
    address          TEXT    NOT NULL,
    started_at       INTEGER NOT NULL,
    heartbeat_at     INTEGER NOT NULL,
    turns_per_second REAL    NOT NULL DEFAULT 0,
    leases_held      INTEGER NOT NULL DEFAULT 0,
    draining         INTEGER NOT NULL DEFAULT 0
);
