-- API keys and client links, stored as hashes only.

-- name: InsertApiKey
INSERT INTO api_keys (key_hash, key_id, prefix, org_id, role, subject_id, label, created_at, revoked_at, expires_at)
VALUES (@KeyHash, @KeyId, @Prefix, @OrgId, @Role, @SubjectId, @Label, @CreatedAt, @RevokedAt, @ExpiresAt);

-- name: FindApiKey
SELECT key_hash, prefix, org_id, role, subject_id, label, created_at, revoked_at, expires_at
FROM api_keys
WHERE key_hash = @KeyHash;

-- name: ListApiKeys
-- /**filters**/ is replaced by fixed "AND column = @Param" fragments for the filters given.
SELECT key_hash, prefix, org_id, role, subject_id, label, created_at, revoked_at, expires_at
FROM api_keys
WHERE org_id = @OrgId /**filters**/
ORDER BY created_at DESC, key_id
LIMIT @Limit;

-- name: RevokeApiKey
UPDATE api_keys SET revoked_at = @Now
WHERE org_id = @OrgId AND key_id = @KeyId AND revoked_at IS NULL;

-- name: RevokeApiKeysOfSubject
UPDATE api_keys SET revoked_at = @Now
WHERE org_id = @OrgId AND subject_id = @SubjectId AND revoked_at IS NULL;
