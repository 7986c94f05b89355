using CohortGrains.Runtime.Storage;
using CohortGrains.Runtime.Tests.Contract;

namespace CohortGrains.Storage.Postgres.Tests;

/// <summary>The same store contract SQLite passes, on PostgreSQL: each store in a fresh schema of this class's database.</summary>
public sealed class PostgresGrainStoreTests(PostgresDatabase database) : GrainStoreContract, IClassFixture<PostgresDatabase>, IAsyncLifetime
{
    private readonly List<PostgresGrainStore> _stores = [];

    protected override async Task<IGrainStore> CreateStoreAsync()
    {
        var store = new PostgresGrainStore(new PostgresStoreOptions { ConnectionString = database.ConnectionString(await database.CreateSchemaAsync()) });
        _stores.Add(store);
        await store.MigrateAsync(Ct);
        return store;
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var store in _stores) await store.DisposeAsync();
    }
}
