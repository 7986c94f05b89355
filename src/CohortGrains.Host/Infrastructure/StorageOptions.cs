namespace CohortGrains.Host.Infrastructure;

public sealed class StorageOptions
{
    /// <summary>"Sqlite" (embedded default, one node) or "Postgres" (cluster).</summary>
    public string Provider { get; set; } = "Sqlite";
    /// <summary>Where the SQLite file and the generated operator key live.</summary>
    public string DataDirectory { get; set; } = "data";
    public string SqliteFile { get; set; } = "cohortgrains.db";
    /// <summary>Apply migrations at start-up (on by default; a cluster may run the migrate verb instead).</summary>
    public bool MigrateOnStart { get; set; } = true;
    /// <summary>Npgsql connection string for Provider=Postgres; taken from ConnectionStrings:Postgres.</summary>
    public string? PostgresConnectionString { get; set; }
}

public sealed class ClockOptions
{
    /// <summary>1 = real time. 3600 = one program hour per real second (demos, load tests).</summary>
    public double Speed { get; set; } = 1;
}
