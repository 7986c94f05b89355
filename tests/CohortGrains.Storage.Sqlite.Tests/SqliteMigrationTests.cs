using CohortGrains.Runtime.Storage;
using Microsoft.Data.Sqlite;

namespace CohortGrains.Storage.Sqlite.Tests;

/// <summary>A file written before a migration existed must come through it with its rows intact.</summary>
public sealed class SqliteMigrationTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("cohortgrains-sqlite-migrate-");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _dir.Delete(recursive: true);
    }

    [Fact]
    public async Task AFileFromBeforeTheProgramArcKeepsItsClientsAndGainsTheNewColumns()
    {
        var path = Path.Combine(_dir.FullName, "old.db");
        var initial = SqlCatalog.LoadMigrations(typeof(SqliteGrainStore).Assembly).Single(m => m.Version == 1);
        await using (var c = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            await c.OpenAsync();
            await using var cmd = c.CreateCommand();
            // Exactly what a release with only migration 0001 left behind: its schema, its bookkeeping, one client row.
            cmd.CommandText = initial.Sql + """

                CREATE TABLE schema_migrations (version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL);
                INSERT INTO schema_migrations VALUES (1, 'initial', 0);
                INSERT INTO grains (org_id, grain_type, grain_key, version, updated_at, cohort_id, status, prompts_sent, replies, state)
                VALUES ('org1', 'ClientLoop', 'ana', 7, 0, 'c1', 'done', 4, 3, '{}');
                """;
            await cmd.ExecuteNonQueryAsync();
        }

        using var store = new SqliteGrainStore(new SqliteStoreOptions { Path = path });
        Assert.False(await store.IsReadyAsync(default));
        await store.MigrateAsync(default);

        Assert.True(await store.IsReadyAsync(default));
        var ana = Assert.Single(await store.QueryGrainsAsync(new GrainQuery("org1", "ClientLoop"), default));
        Assert.Equal((7L, false, 4), (ana.Version, ana.Projection.EndedEarly, ana.Projection.PromptsSent));
        var stats = Assert.Single(await store.GetCohortStatsAsync("org1", null, DateTimeOffset.UnixEpoch, default));
        Assert.Equal((1, 0), (stats.Clients, stats.ClientsEndedEarly));
        Assert.Empty(await store.GetTemplateStatsAsync(new TemplateStatsQuery("org1"), default));
    }
}
