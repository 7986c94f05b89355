-- The PostgreSQL store's migration 0009 compresses grain states with lz4; SQLite stores them as they are. This
-- migration changes nothing here and keeps the numbers of both stores' migrations meaning the same schema.
SELECT 1;
