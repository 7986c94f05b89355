-- Durable timers: reminders and grain-to-grain messages. attempt fences stale claims.

-- name: ClaimPlan
-- Run first in a claim's transaction. A claim must walk its queue's index in order, stop after the rows it takes and
-- update them by ctid; PostgreSQL only plans that when it knows the queue is large. In a storm a queue grows from
-- nothing to a hundred thousand rows faster than statistics follow, and a claim planned for an empty queue (Npgsql
-- prepares statements, PostgreSQL keeps their plans) sorted or scanned the whole queue every time: 30-60 ms a claim
-- in a storm, a few ms with this plan. Switched off for this transaction only, sorts and sequential scans leave just
-- that plan.
SET LOCAL enable_sort = off;
SET LOCAL enable_seqscan = off;

-- name: ClaimDueTimers
-- Oldest due first, in one statement: rows another node is claiming or a turn holds are skipped, not waited for
-- (SKIP LOCKED), and a lease that has not expired belongs to someone else. RETURNING gives the bumped attempt.
-- The rows are updated by the ctid the subquery locked (a locked row cannot move): a join back on the key was
-- planned as a hash join over the whole table whenever the planner expected a large LIMIT.
UPDATE timers
SET lease_owner = @Owner, lease_until = @LeaseUntil, attempt = attempt + 1
WHERE ctid = ANY (ARRAY(
    SELECT ctid
    FROM timers
    WHERE due_at <= @Now AND (lease_until IS NULL OR lease_until <= @Now)
    ORDER BY due_at
    LIMIT @Max
    FOR UPDATE SKIP LOCKED))
RETURNING org_id, grain_type, grain_key, name, due_at, payload, attempt;

-- name: ReleaseTimerLeases
UPDATE timers SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = @Owner;

-- name: TimerBacklog
-- The due part walks the due_at index only; the total is exact (operators compare it over time).
SELECT (SELECT COUNT(*) FROM timers WHERE due_at <= @Now)    AS due,
       (SELECT MIN(due_at) FROM timers WHERE due_at <= @Now) AS oldest_due_at,
       (SELECT COUNT(*) FROM timers)                          AS total;
