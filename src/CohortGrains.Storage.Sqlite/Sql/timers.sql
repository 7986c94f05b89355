-- Durable timers: reminders and grain-to-grain messages. attempt fences stale claims.

-- name: TimerAttempt
SELECT attempt FROM timers
WHERE org_id = @OrgId AND grain_type = @GrainType AND grain_key = @GrainKey AND name = @Name;

-- name: DeleteTimerAtAttempt
-- Consumes the timer that triggered a turn, only if nobody re-claimed or rescheduled it meanwhile.
DELETE FROM timers
WHERE org_id = @OrgId AND grain_type = @GrainType AND grain_key = @GrainKey AND name = @Name
  AND attempt = @Attempt;

-- name: DeleteTimer
DELETE FROM timers
WHERE org_id = @OrgId AND grain_type = @GrainType AND grain_key = @GrainKey AND name = @Name;

-- name: UpsertTimer
-- Rescheduling bumps attempt and drops the lease: a worker still holding a claim on the old schedule is fenced.
INSERT INTO timers (org_id, grain_type, grain_key, name, due_at, payload, attempt, lease_owner, lease_until)
VALUES (@OrgId, @GrainType, @GrainKey, @Name, @DueAt, @Payload, 0, NULL, NULL)
ON CONFLICT (org_id, grain_type, grain_key, name) DO UPDATE SET
    due_at = excluded.due_at,
    payload = excluded.payload,
    attempt = timers.attempt + 1,
    lease_owner = NULL,
    lease_until = NULL;

-- name: InsertTimer
INSERT INTO timers (org_id, grain_type, grain_key, name, due_at, payload, attempt, lease_owner, lease_until)
VALUES (@OrgId, @GrainType, @GrainKey, @Name, @DueAt, @Payload, 0, NULL, NULL);

-- name: InsertTimerIfTopic
-- A message only for a target that asked for its topic (MessageWrite.OnlyIfTopic).
INSERT INTO timers (org_id, grain_type, grain_key, name, due_at, payload, attempt, lease_owner, lease_until)
SELECT @OrgId, @GrainType, @GrainKey, @Name, @DueAt, @Payload, 0, NULL, NULL
WHERE EXISTS (
    SELECT 1 FROM grains
    WHERE org_id = @OrgId AND grain_type = @GrainType AND grain_key = @GrainKey
      AND instr(' ' || topics || ' ', ' ' || @Topic || ' ') > 0);

-- name: ClaimDueTimers
-- Oldest due first; a lease that has not expired belongs to someone else. RETURNING gives the bumped attempt.
UPDATE timers
SET lease_owner = @Owner, lease_until = @LeaseUntil, attempt = attempt + 1
WHERE rowid IN (
    SELECT rowid FROM timers
    WHERE due_at <= @Now AND (lease_until IS NULL OR lease_until <= @Now)
    ORDER BY due_at, rowid
    LIMIT @Max)
RETURNING org_id, grain_type, grain_key, name, due_at, payload, attempt;

-- name: ReleaseTimerLeases
UPDATE timers SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = @Owner;

-- name: TimerBacklog
SELECT (SELECT COUNT(*) FROM timers WHERE due_at <= @Now)    AS due,
       (SELECT MIN(due_at) FROM timers WHERE due_at <= @Now) AS oldest_due_at,
       (SELECT COUNT(*) FROM timers)                          AS total;
