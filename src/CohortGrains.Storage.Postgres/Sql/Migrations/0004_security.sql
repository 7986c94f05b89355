-- Why: issue 8 (security), as in the SQLite store's 0004. Keys get a public id (to list and revoke them without
-- showing the hash) and an optional expiry (client magic links always expire); an append-only audit log records who
-- changed what.

ALTER TABLE api_keys ADD COLUMN key_id text COLLATE "C";
ALTER TABLE api_keys ADD COLUMN expires_at timestamptz;
-- The same derivation as ApiKeyRecord.KeyId, for keys issued before this migration.
UPDATE api_keys SET key_id = 'key_' || substr(key_hash, 1, 16) WHERE key_id IS NULL;
CREATE UNIQUE INDEX api_keys_id ON api_keys (key_id);
-- Listing an org's keys newest first; revoking every link of one client.
CREATE INDEX api_keys_org ON api_keys (org_id, created_at);
CREATE INDEX api_keys_subject ON api_keys (org_id, subject_id);

-- Ids and short codes only (never names, contact details or note text): see AuditWrite.
CREATE TABLE audit_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id      text COLLATE "C" NOT NULL,
    at          timestamptz NOT NULL,
    actor_role  text        NOT NULL,
    actor_id    text COLLATE "C" NOT NULL,
    action      text        NOT NULL,
    target_type text        NOT NULL,
    target_id   text COLLATE "C" NOT NULL,
    detail      text
);
-- Newest-first paging of one org's log, or of one target's.
CREATE INDEX audit_org    ON audit_log (org_id, id);
CREATE INDEX audit_target ON audit_log (org_id, target_id, id);
