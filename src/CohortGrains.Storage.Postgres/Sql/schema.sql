-- Bookkeeping for numbered migrations (Sql/Migrations/NNNN_description.sql).

-- name: LockMigrations
-- Several nodes may start at once: one applies the migrations, the others wait here and then find them applied.
-- Session-level lock (held across the per-migration transactions), keyed per schema so schemas in one database
-- (tests) do not wait for each other.
SELECT pg_advisory_lock(815100, hashtext(current_schema()));

-- name: UnlockMigrations
SELECT pg_advisory_unlock(815100, hashtext(current_schema()));

-- name: CreateMigrationsTable
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer     NOT NULL PRIMARY KEY,
    name       text        NOT NULL,
    applied_at timestamptz NOT NULL
);

-- name: AppliedMigrations
SELECT version FROM schema_migrations;

-- name: IsMigrationApplied
SELECT COUNT(*) FROM schema_migrations WHERE version = @Version;

-- name: RecordMigration
INSERT INTO schema_migrations (version, name, applied_at) VALUES (@Version, @Name, @AppliedAt);
