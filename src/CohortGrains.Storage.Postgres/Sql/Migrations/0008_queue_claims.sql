-- A claim takes the oldest due rows in (next_attempt_at, id) order. With an index in that order it stops after the
-- rows it takes; with (next_attempt_at) alone PostgreSQL sorted every due row of a storm's backlog on every claim
-- whenever its estimates were off (a table filled faster than it was analyzed).
DROP INDEX outbox_claim;
CREATE INDEX outbox_claim ON outbox (next_attempt_at, id) WHERE status = 'pending';

-- Claiming a timer or an outbox row changes only its lease and attempt, which no index holds: with room left on its
-- page PostgreSQL rewrites the row in place (a HOT update) instead of adding it anew to every index of the table.
-- Inserts leave that room from now on; pages written before keep theirs until rewritten.
ALTER TABLE timers SET (fillfactor = 80);
ALTER TABLE outbox SET (fillfactor = 80);
