-- Outbox: everything that leaves the system (SMS, email), claimed and sent by any node.

-- name: ClaimOutbox
-- Like ClaimDueTimers (and updated by ctid for the same reason).
UPDATE outbox
SET lease_owner = @Owner, lease_until = @LeaseUntil, attempt = attempt + 1, updated_at = @Now
WHERE ctid = ANY (ARRAY(
    SELECT ctid
    FROM outbox
    WHERE status = 'pending' AND next_attempt_at <= @Now AND (lease_until IS NULL OR lease_until <= @Now)
    ORDER BY next_attempt_at, id
    LIMIT @Max
    FOR UPDATE SKIP LOCKED))
RETURNING id, org_id, grain_type, grain_key, idempotency_key, channel, recipient, subject, body,
          template, prompt_id, attempt, created_at;

-- name: CompleteOutbox
-- The results of many sends in one statement: element i of every array is completion i, its outcome 'sent', 'retry'
-- (error, next attempt at retry_at) or 'failed' (error, error code). Every completion is fenced by the attempt claimed
-- and applies to a pending row only; RETURNING names the ones that applied. A send keeps the error of an earlier
-- attempt, for the record.
UPDATE outbox AS o SET
    status              = CASE c.outcome WHEN 'retry' THEN o.status ELSE c.outcome END,
    provider_message_id = CASE c.outcome WHEN 'sent' THEN c.provider_message_id ELSE o.provider_message_id END,
    provider_status     = CASE c.outcome WHEN 'sent' THEN c.provider_status ELSE o.provider_status END,
    sent_at             = CASE c.outcome WHEN 'sent' THEN c.now ELSE o.sent_at END,
    next_attempt_at     = CASE c.outcome WHEN 'retry' THEN c.retry_at ELSE o.next_attempt_at END,
    error               = CASE c.outcome WHEN 'sent' THEN o.error ELSE c.error END,
    error_code          = CASE c.outcome WHEN 'failed' THEN c.error_code ELSE o.error_code END,
    updated_at = c.now, lease_owner = NULL, lease_until = NULL
FROM unnest(@Ids, @Attempts, @Outcomes, @ProviderMessageIds, @ProviderStatuses, @RetryAts, @Errors, @ErrorCodes, @Nows)
    AS c(id, attempt, outcome, provider_message_id, provider_status, retry_at, error, error_code, now)
WHERE o.id = c.id AND o.attempt = c.attempt AND o.status = 'pending'
RETURNING o.id, o.attempt;

-- name: UpdateDeliveryStatus
-- A callback without an error code keeps the one recorded earlier.
UPDATE outbox
SET provider_status = @Status, error_code = COALESCE(@ErrorCode, error_code), updated_at = @Now
WHERE provider_message_id = @ProviderMessageId;

-- name: FindOutboxByProviderMessageId
-- A status callback that must reach the grain (e.g. a late 21610) finds its row by the provider's id.
SELECT id, org_id, grain_type, grain_key, idempotency_key, channel, recipient, subject, body, template, prompt_id,
       status, attempt, provider_message_id, provider_status, error, error_code, created_at, sent_at, updated_at
FROM outbox
WHERE provider_message_id = @ProviderMessageId
ORDER BY id DESC
LIMIT 1;

-- name: ReleaseOutboxLeases
UPDATE outbox SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = @Owner AND status = 'pending';

-- name: QueryOutbox
-- /**filters**/ is replaced by fixed "AND column = @Param" fragments for the filters given.
SELECT id, org_id, grain_type, grain_key, idempotency_key, channel, recipient, subject, body, template, prompt_id,
       status, attempt, provider_message_id, provider_status, error, error_code, created_at, sent_at, updated_at
FROM outbox
WHERE org_id = @OrgId /**filters**/
ORDER BY id DESC
LIMIT @Limit;

-- name: OutboxBacklog
-- Read at every metrics scrape: only pending rows (the partial index outbox_claim), grouped by channel.
SELECT channel,
       COUNT(*)                                          AS pending,
       COUNT(*) FILTER (WHERE next_attempt_at <= @Now)   AS due,
       MIN(next_attempt_at) FILTER (WHERE next_attempt_at <= @Now) AS oldest_due_at
FROM outbox
WHERE status = 'pending'
GROUP BY channel
ORDER BY channel;
