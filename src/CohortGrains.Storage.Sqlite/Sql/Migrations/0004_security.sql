-- Why: issue 8 (security). Keys get a public id (to list and revoke them without showing the hash) and an optional
-- expiry (client magic links always expire); an append-only audit log records who changed what. Numbered 0003, not
-- 0002, because the channels work takes 0002; the two touch different tables and apply in either order.

ALTER TABLE api_keys ADD COLUMN key_id TEXT;
ALTER TABLE api_keys ADD COLUMN expires_at INTEGER;
-- The same derivation as ApiKeyRecord.KeyId, for keys issued before this migration.
UPDATE api_keys SET key_id = 'key_' || substr(key_hash, 1, 16) WHERE key_id IS NULL;
CREATE UNIQUE INDEX api_keys_id ON api_keys (key_id);
-- Listing an org's keys newest first; revoking every link of one client.
CREATE INDEX api_keys_org ON api_keys (org_id, created_at);
CREATE INDEX api_keys_subject ON api_keys (org_id, subject_id);

-- Ids and short codes only (never names, contact details or note text): see AuditWrite.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id      TEXT    NOT NULL,
    at          INTEGER NOT NULL,
    actor_role  TEXT    NOT NULL,
    actor_id    TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    target_type TEXT    NOT NULL,
    target_id   TEXT    NOT NULL,
    detail      TEXT
);
-- Newest-first paging of one org's log, or of one target's.
CREATE INDEX audit_org    ON audit_log (org_id, id);
CREATE INDEX audit_target ON audit_log (org_id, target_id, id);
