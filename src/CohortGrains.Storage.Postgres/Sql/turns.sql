-- A batch of turns, set-based: each statement takes one array per column (element i of every array is row i) and
-- does its work for the whole batch, so a batch of 64 turns is a handful of statements, not several hundred. The
-- store nets out the writes of turns of the same grain first (last write wins), so no row appears twice in a statement.
-- Arrays are typed by the store's parameters; a NULL element is a NULL column.

-- name: TurnPlan
-- Sent first in a batch's transaction. Each statement below joins its arrays to a table through the table's primary
-- key, one row at a time; PostgreSQL plans that only when it knows the table is large. A launch fills an empty grains
-- table faster than statistics follow, and a join planned while it was empty (Npgsql prepares statements, PostgreSQL
-- keeps their plans) hashed the arrays and read the whole table in every batch. Switched off for this transaction
-- only, hash and merge joins and sequential scans leave just the key lookups. One statement, not three SET LOCALs, so
-- it travels in the batch's first round trip.
SELECT set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true),
       set_config('enable_seqscan', 'off', true);

-- name: LockGrains
-- Holds every grain of the batch for the whole transaction, in the order given (the store passes lock order):
-- ORDER BY under FOR UPDATE locks the rows as they come out of the sort. A grain that does not exist yet has no row
-- to lock: its first turn inserts it (InsertGrains). i is the position in the arrays (1-based).
SELECT k.i, g.version, g.updated_at, g.state
FROM unnest(@OrgIds, @GrainTypes, @GrainKeys) WITH ORDINALITY AS k(org_id, grain_type, grain_key, i)
JOIN grains g ON g.org_id = k.org_id AND g.grain_type = k.grain_type AND g.grain_key = k.grain_key
ORDER BY k.i
FOR UPDATE OF g;

-- name: LockTimers
-- The timers that triggered turns, taken after their grains (always in that order, so turns never deadlock each
-- other). While a turn holds one, claims skip it (SKIP LOCKED), so a timer whose lease runs out mid-turn cannot run twice.
SELECT k.i, t.attempt
FROM unnest(@OrgIds, @GrainTypes, @GrainKeys, @Names) WITH ORDINALITY AS k(org_id, grain_type, grain_key, name, i)
JOIN timers t ON t.org_id = k.org_id AND t.grain_type = k.grain_type AND t.grain_key = k.grain_key AND t.name = k.name
ORDER BY k.i
FOR UPDATE OF t;

-- name: InsertGrains
-- The turns that create grains. If another transaction created one meanwhile, that row is not inserted (after waiting
-- for that transaction), the store sees fewer rows than it gave and runs its batch again, this time locking the row.
INSERT INTO grains (org_id, grain_type, grain_key, version, updated_at,
    display_name, cohort_id, coach_id, status, status_since, status_detail, risk, last_rating,
    next_session_at, earliest_open_action_due, prompts_sent, replies, touches_sent, actions_total, actions_done,
    escalations, escalations_caught, phone, email, ended_early, topics, state)
SELECT * FROM unnest(@OrgIds, @GrainTypes, @GrainKeys, @Versions, @UpdatedAts,
    @DisplayNames, @CohortIds, @CoachIds, @Statuses, @StatusSinces, @StatusDetails, @Risks, @LastRatings,
    @NextSessionAts, @EarliestOpenActionDues, @PromptsSent, @Replies, @TouchesSent, @ActionsTotal, @ActionsDone,
    @Escalations, @EscalationsCaught, @Phones, @Emails, @EndedEarly, @Topics, @States)
ON CONFLICT DO NOTHING;

-- name: UpdateGrains
-- Checks the version each grain had when the batch locked it, like every update of a versioned row.
UPDATE grains AS g SET
    version = u.version, updated_at = u.updated_at,
    display_name = u.display_name, cohort_id = u.cohort_id, coach_id = u.coach_id, status = u.status,
    status_since = u.status_since, status_detail = u.status_detail, risk = u.risk, last_rating = u.last_rating,
    next_session_at = u.next_session_at, earliest_open_action_due = u.earliest_open_action_due,
    prompts_sent = u.prompts_sent, replies = u.replies, touches_sent = u.touches_sent,
    actions_total = u.actions_total, actions_done = u.actions_done, escalations = u.escalations,
    escalations_caught = u.escalations_caught, phone = u.phone, email = u.email, ended_early = u.ended_early,
    topics = u.topics, state = u.state
FROM unnest(@OrgIds, @GrainTypes, @GrainKeys, @Versions, @UpdatedAts,
    @DisplayNames, @CohortIds, @CoachIds, @Statuses, @StatusSinces, @StatusDetails, @Risks, @LastRatings,
    @NextSessionAts, @EarliestOpenActionDues, @PromptsSent, @Replies, @TouchesSent, @ActionsTotal, @ActionsDone,
    @Escalations, @EscalationsCaught, @Phones, @Emails, @EndedEarly, @Topics, @States, @ExpectedVersions)
    AS u(org_id, grain_type, grain_key, version, updated_at,
    display_name, cohort_id, coach_id, status, status_since, status_detail, risk, last_rating,
    next_session_at, earliest_open_action_due, prompts_sent, replies, touches_sent, actions_total, actions_done,
    escalations, escalations_caught, phone, email, ended_early, topics, state, expected_version)
WHERE g.org_id = u.org_id AND g.grain_type = u.grain_type AND g.grain_key = u.grain_key
  AND g.version = u.expected_version;

-- name: DeleteTimers
-- Cancelled timers (attempt NULL), and timers consumed by the turn they triggered (their attempt: only if nobody
-- re-claimed or rescheduled them meanwhile).
DELETE FROM timers AS t
USING unnest(@OrgIds, @GrainTypes, @GrainKeys, @Names, @Attempts) AS d(org_id, grain_type, grain_key, name, attempt)
WHERE t.org_id = d.org_id AND t.grain_type = d.grain_type AND t.grain_key = d.grain_key AND t.name = d.name
  AND (d.attempt IS NULL OR t.attempt = d.attempt);

-- name: UpsertTimers
-- Rescheduling bumps attempt and drops the lease: a worker still holding a claim on the old schedule is fenced.
INSERT INTO timers (org_id, grain_type, grain_key, name, due_at, payload, attempt, lease_owner, lease_until)
SELECT u.org_id, u.grain_type, u.grain_key, u.name, u.due_at, u.payload, 0, NULL, NULL
FROM unnest(@OrgIds, @GrainTypes, @GrainKeys, @Names, @DueAts, @Payloads)
    AS u(org_id, grain_type, grain_key, name, due_at, payload)
ON CONFLICT (org_id, grain_type, grain_key, name) DO UPDATE SET
    due_at = excluded.due_at,
    payload = excluded.payload,
    attempt = timers.attempt + 1,
    lease_owner = NULL,
    lease_until = NULL;

-- name: InsertMessages
-- Messages to grains: timers on their targets, named uniquely. One with a topic is stored only for a target that asked
-- for it (MessageWrite.OnlyIfTopic), read in the sending transaction, so it follows the target's last committed state.
INSERT INTO timers (org_id, grain_type, grain_key, name, due_at, payload, attempt, lease_owner, lease_until)
SELECT m.org_id, m.grain_type, m.grain_key, m.name, m.due_at, m.payload, 0, NULL, NULL
FROM unnest(@OrgIds, @GrainTypes, @GrainKeys, @Names, @DueAts, @Payloads, @Topics) WITH ORDINALITY
    AS m(org_id, grain_type, grain_key, name, due_at, payload, topic, i)
WHERE m.topic IS NULL OR EXISTS (
    SELECT 1 FROM grains g
    WHERE g.org_id = m.org_id AND g.grain_type = m.grain_type AND g.grain_key = m.grain_key
      AND m.topic = ANY (string_to_array(g.topics, ' ')))
ORDER BY m.i;

-- name: InsertOutbox
-- The idempotency key (grain + touchpoint) makes a second enqueue of the same touch a no-op. Rows get their ids in
-- the order given, so a turn's messages are sent in the order it wrote them.
INSERT INTO outbox (
    org_id, grain_type, grain_key, idempotency_key, channel, recipient, subject, body, template, prompt_id,
    status, attempt, next_attempt_at, created_at, updated_at)
SELECT o.org_id, o.grain_type, o.grain_key, o.idempotency_key, o.channel, o.recipient, o.subject, o.body, o.template,
       o.prompt_id, 'pending', 0, o.now, o.now, o.now
FROM unnest(@OrgIds, @GrainTypes, @GrainKeys, @IdempotencyKeys, @Channels, @Recipients, @Subjects, @Bodies,
            @Templates, @PromptIds, @Nows) WITH ORDINALITY
    AS o(org_id, grain_type, grain_key, idempotency_key, channel, recipient, subject, body, template, prompt_id, now, i)
ORDER BY o.i
ON CONFLICT (idempotency_key) DO NOTHING;

-- name: UpsertTouchFacts
-- Written in the turn that sent or answered the touch; a later turn that changes the fact replaces it.
INSERT INTO touch_stats (org_id, grain_key, touch_id, cohort_id, coach_id, template, template_version, kind, channel,
                         sent_at, replied_at, reply_seconds, rating)
SELECT * FROM unnest(@OrgIds, @GrainKeys, @TouchIds, @CohortIds, @CoachIds, @Templates, @TemplateVersions, @Kinds,
                     @Channels, @SentAts, @RepliedAts, @ReplySeconds, @Ratings)
ON CONFLICT (org_id, grain_key, touch_id) DO UPDATE SET
    cohort_id = excluded.cohort_id, coach_id = excluded.coach_id, template = excluded.template,
    template_version = excluded.template_version, kind = excluded.kind, channel = excluded.channel,
    sent_at = excluded.sent_at, replied_at = excluded.replied_at, reply_seconds = excluded.reply_seconds,
    rating = excluded.rating;

-- name: InsertAudit
-- In the order given, so ids follow the order of the changes.
INSERT INTO audit_log (org_id, at, actor_role, actor_id, action, target_type, target_id, detail)
SELECT a.org_id, a.at, a.actor_role, a.actor_id, a.action, a.target_type, a.target_id, a.detail
FROM unnest(@OrgIds, @Ats, @ActorRoles, @ActorIds, @Actions, @TargetTypes, @TargetIds, @Details) WITH ORDINALITY
    AS a(org_id, at, actor_role, actor_id, action, target_type, target_id, detail, i)
ORDER BY a.i;
