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

-- name: CompleteOutboxSent
-- Every completion is fenced by the attempt claimed and applies to a pending row only.
UPDATE outbox
SET status = 'sent', provider_message_id = @ProviderMessageId, provider_status = @ProviderStatus,
    sent_at = @Now, updated_at = @Now, lease_owner = NULL, lease_until = NULL
WHERE id = @Id AND attempt = @Attempt AND status = 'pending';

-- name: CompleteOutboxRetry
UPDATE outbox
SET next_attempt_at = @RetryAt, error = @Error, updated_at = @Now, lease_owner = NULL, lease_until = NULL
WHERE id = @Id AND attempt = @Attempt AND status = 'pending';

-- name: CompleteOutboxFailed
UPDATE outbox
SET status = 'failed', error = @Error, error_code = @ErrorCode, updated_at = @Now,
    lease_owner = NULL, lease_until = NULL
WHERE id = @Id AND attempt = @Attempt AND status = 'pending';

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
