-- API keys, stored as hashes only.

-- name: InsertApiKey
INSERT INTO api_keys (key_hash, prefix, org_id, role, subject_id, label, created_at, revoked_at)
VALUES (@KeyHash, @Prefix, @OrgId, @Role, @SubjectId, @Label, @CreatedAt, @RevokedAt);

-- name: FindApiKey
SELECT key_hash, prefix, org_id, role, subject_id, label, created_at, revoked_at
FROM api_keys
WHERE key_hash = @KeyHash;
