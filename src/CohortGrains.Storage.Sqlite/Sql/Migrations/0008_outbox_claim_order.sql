-- A claim takes the oldest due rows in (next_attempt_at, id) order: an index in that order lets it stop after the
-- rows it takes instead of sorting every due row (the same change as the PostgreSQL store's migration 0008).
DROP INDEX outbox_claim;
CREATE INDEX outbox_claim ON outbox (next_attempt_at, id) WHERE status = 'pending';
