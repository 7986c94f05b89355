-- The audit log: append-only, except that erasing a client clears the detail of entries about them.

-- name: QueryAudit
-- /**filters**/ is replaced by fixed "AND column = @Param" fragments for the filters given.
SELECT id, org_id, at, actor_role, actor_id, action, target_type, target_id, detail
FROM audit_log
WHERE org_id = @OrgId /**filters**/
ORDER BY id DESC
LIMIT @Limit;
