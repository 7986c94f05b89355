-- Why: cluster membership (DESIGN.md "Scaling out"): each node heartbeats a row so operators can see the nodes,
-- their turn rate, the leases they hold and who is draining (GET /api/v1/cluster). Nothing is assigned through it:
-- work is shared by leased claims, so a stale row never blocks anything. Same table as the SQLite store's 0005.
CREATE TABLE nodes (
    node_id          text COLLATE "C" NOT NULL PRIMARY KEY,
    address          text             NOT NULL,
    started_at       timestamptz      NOT NULL,
    heartbeat_at     timestamptz      NOT NULL,
    turns_per_second double precision NOT NULL DEFAULT 0,
    leases_held      integer          NOT NULL DEFAULT 0,
    draining         boolean          NOT NULL DEFAULT false
);
