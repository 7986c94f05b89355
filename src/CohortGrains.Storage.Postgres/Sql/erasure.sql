-- Erasing one grain's personal data outside its state (ErasePersonalDataAsync), in one transaction.

-- name: EraseGrainTimers
DELETE FROM timers
WHERE org_id = @OrgId AND grain_type = @GrainType AND grain_key = @GrainKey;

-- name: EraseMessagesNamingGrain
-- Messages in flight to other grains that name this one (an alert to the coach carries the client's name).
-- strpos, not LIKE: keys contain '_', which LIKE reads as a wildcard.
DELETE FROM timers
WHERE org_id = @OrgId AND name LIKE 'msg:%' AND strpos(payload, @GrainKey) > 0;

-- name: ScrubGrainOutbox
-- Delivery facts (channel, status, provider id and error code, times) stay for the metrics; what was said and
-- to whom goes. A pending row fails, so no node sends to a blank recipient.
UPDATE outbox
SET recipient = '', subject = NULL, body = '',
    error = CASE WHEN status = 'pending' THEN 'erased' ELSE NULL END,
    status = CASE WHEN status = 'pending' THEN 'failed' ELSE status END,
    lease_owner = NULL, lease_until = NULL, updated_at = @Now
WHERE org_id = @OrgId AND grain_type = @GrainType AND grain_key = @GrainKey;

-- name: ScrubAuditOfTarget
UPDATE audit_log SET detail = NULL
WHERE org_id = @OrgId AND target_id = @GrainKey AND detail IS NOT NULL;
