-- A claim takes the oldest due rows in (next_attempt_at, id) order. With an index in that order it stops after the
-- rows it takes; with (next_attempt_at) alone PostgreSQL sorted every due row of a storm's backlog on every claim
-- whenever its estimates were off (a table filled faster than it was analyzed).
DROP INDEX outbox_claim;
CREATE INDEX outbox_claim ON outbox (next_attempt_at, id) WHERE status = 'pending';
