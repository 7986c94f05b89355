namespace CohortGrains.Storage.Sqlite;

public sealed record SqliteStoreOptions
{
    /// <summary>The database file; created on first use.</summary>
    public required string Path { get; init; }

    /// <summary>How long a write waits for another process's write transaction before failing.</summary>
    public TimeSpan BusyTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Only stamps schema_migrations.applied_at; every other instant comes from the caller.</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;
}
