-- A claim takes the oldest due rows in (next_attempt_at, id) order: an index in that order lets it stop after the
-- rows it takes instead of sorting every due row (as in the PostgreSQL store's migration 0008, which also leaves room
-- on queue pages for in-place updates: SQLite has no such setting).
DROP INDEX outbox_claim;
CREATE INDEX outbox_claim ON outbox (next_attempt_at, id) WHERE status = 'pending';
