-- Bookkeeping for numbered migrations (Sql/Migrations/NNNN_description.sql).

-- name: CreateMigrationsTable
-- Created by the runner itself, before any migration, so it can tell which ones are applied.
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    applied_at INTEGER NOT NULL
);

-- name: IsMigrationApplied
SELECT COUNT(*) FROM schema_migrations WHERE version = @Version;

-- name: RecordMigration
INSERT INTO schema_migrations (version, name, applied_at) VALUES (@Version, @Name, @AppliedAt);
