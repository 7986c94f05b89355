-- Grain rows: JSON state + version, and the projected columns dashboards query.

-- name: LoadGrain
SELECT version, updated_at, state
FROM grains
WHERE org_id = @OrgId AND grain_type = @GrainType AND grain_key = @GrainKey;

-- name: LoadGrains
-- Many grains in one statement, i the position in the arrays (1-based). Sent after TurnPlan in the same batch, for the
-- reason given there: it joins its arrays to grains by the primary key.
SELECT k.i, g.version, g.updated_at, g.state
FROM unnest(@OrgIds, @GrainTypes, @GrainKeys) WITH ORDINALITY AS k(org_id, grain_type, grain_key, i)
JOIN grains g ON g.org_id = k.org_id AND g.grain_type = k.grain_type AND g.grain_key = k.grain_key;

-- name: QueryGrains
-- /**filters**/ is replaced by fixed "AND column = @Param" fragments for the filters given, so each
-- filter can use its index; /**order**/ by one of the two orderings. version > 0 is belt and braces: every
-- committed grain has version 1 or more.
SELECT org_id, grain_type, grain_key, version, updated_at,
       display_name, cohort_id, coach_id, status, status_since, status_detail, risk, last_rating,
       next_session_at, earliest_open_action_due, prompts_sent, replies, touches_sent, actions_total,
       actions_done, escalations, escalations_caught, phone, email, ended_early, topics
FROM grains
WHERE org_id = @OrgId AND grain_type = @GrainType AND version > 0 /**filters**/
ORDER BY /**order**/
LIMIT @Limit OFFSET @Offset;

-- name: FindGrainsByPhone
-- Inbound SMS names only a phone: the one lookup that crosses orgs (index grains_phone_any, migration 0002).
SELECT org_id, grain_type, grain_key, version, updated_at,
       display_name, cohort_id, coach_id, status, status_since, status_detail, risk, last_rating,
       next_session_at, earliest_open_action_due, prompts_sent, replies, touches_sent, actions_total,
       actions_done, escalations, escalations_caught, phone, email, ended_early, topics
FROM grains
WHERE phone = @Phone AND grain_type = @GrainType AND version > 0
ORDER BY updated_at DESC, org_id, grain_key
LIMIT @Limit;

-- name: CohortStats
-- Computed on read from the projections: no counter row that every client's turn would lock.
SELECT cohort_id,
       COUNT(*)                AS clients,
       SUM(prompts_sent)       AS prompts_sent,
       SUM(replies)            AS replies,
       SUM(touches_sent)       AS touches_sent,
       SUM(actions_total)      AS actions_total,
       SUM(actions_done)       AS actions_done,
       SUM(escalations)        AS escalations,
       SUM(escalations_caught) AS escalations_caught,
       COUNT(*) FILTER (WHERE earliest_open_action_due < @Now) AS clients_with_late_actions,
       COUNT(*) FILTER (WHERE ended_early)                     AS clients_ended_early
FROM grains
WHERE org_id = @OrgId AND grain_type = 'ClientLoop' AND cohort_id IS NOT NULL /**filters**/
GROUP BY cohort_id
ORDER BY cohort_id;

-- name: CohortStatusCounts
SELECT cohort_id, status, COUNT(*) AS clients
FROM grains
WHERE org_id = @OrgId AND grain_type = 'ClientLoop' AND cohort_id IS NOT NULL AND status IS NOT NULL /**filters**/
GROUP BY cohort_id, status;
