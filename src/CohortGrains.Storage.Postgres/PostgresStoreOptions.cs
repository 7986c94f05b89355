namespace CohortGrains.Storage.Postgres;

public sealed record PostgresStoreOptions
{
    /// <summary>An Npgsql connection string (ConnectionStrings:Postgres). "Search Path" selects a schema other than public.</summary>
    public required string ConnectionString { get; init; }

    /// <summary>Only stamps schema_migrations.applied_at; every other instant comes from the caller.</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;

    /// <summary>How often a turn that lost a deadlock or serialization race is run again before the error surfaces.</summary>
    public int TurnRetries { get; init; } = 3;
}
