using CohortGrains.Runtime.Storage;
using CohortGrains.Runtime.Tests.Contract;
using Microsoft.Data.Sqlite;

namespace CohortGrains.Storage.Sqlite.Tests;

/// <summary>The store contract on a fresh SQLite file per store, plus what only a file-backed store can show.</summary>
public sealed class SqliteGrainStoreTests : GrainStoreContract, IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("cohortgrains-sqlite-");
    private readonly List<SqliteGrainStore> _stores = [];

    protected override async Task<IGrainStore> CreateStoreAsync()
    {
        var store = Open(NewPath());
        await store.MigrateAsync(Ct);
        return store;
    }

    private string NewPath() => Path.Combine(_dir.FullName, $"{Guid.NewGuid():N}.db");

    private SqliteGrainStore Open(string path)
    {
        var store = new SqliteGrainStore(new SqliteStoreOptions { Path = path });
        _stores.Add(store);
        return store;
    }

    public void Dispose()
    {
        foreach (var store in _stores) store.Dispose();
        _dir.Delete(recursive: true);
    }

    [Fact]
    public async Task AStoreReopenedOnTheSameFileSeesTheGrainAndItsTimers()
    {
        var path = NewPath();
        var before = Open(path);
        await before.MigrateAsync(Ct);
        await CommandAsync(before, Client("ana"), T0, Write("""{"n":1}""",
            timers: [new("day2", T0, "{}"), new("day5", T0.AddDays(3), "{}")]));
        // A worker claims the due timer and the process dies before the turn.
        var lost = Assert.Single(await before.ClaimDueTimersAsync("node-a", T0, 10, Lease, Ct));
        before.Dispose();

        var after = Open(path);
        await after.MigrateAsync(Ct);

        Assert.Equal(new StoredGrain(Client("ana"), """{"n":1}""", 1, T0), await after.LoadAsync(Client("ana"), Ct));
        Assert.Equal(2, (await after.GetTimerBacklogAsync(T0, Ct)).Total);
        // Once the dead node's lease runs out, the timer runs on the new process, fenced against the old claim.
        var recovered = Assert.Single(await after.ClaimDueTimersAsync("node-b", T0 + Lease, 10, Lease, Ct));
        Assert.Equal(("day2", lost.Attempt + 1), (recovered.Name, recovered.Attempt));
        Assert.IsType<TurnOutcome.Committed>(await TimerTurnAsync(after, recovered, T0 + Lease, _ => Write("{}")));
    }

    [Fact]
    public async Task AFreshFileIsNotReadyUntilMigrated()
    {
        var store = Open(NewPath());
        Assert.False(await store.IsReadyAsync(Ct));

        await store.MigrateAsync(Ct);

        Assert.True(await store.IsReadyAsync(Ct));
    }

    [Fact]
    public async Task TheFileUsesWriteAheadLogging()
    {
        var path = NewPath();
        await Open(path).MigrateAsync(Ct);

        await using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        await connection.OpenAsync(Ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode;";

        Assert.Equal("wal", await command.ExecuteScalarAsync(Ct));
    }

    [Fact]
    public async Task MigrationsAreRecordedOncePerVersion()
    {
        var path = NewPath();
        var store = Open(path);
        await store.MigrateAsync(Ct);
        await store.MigrateAsync(Ct);

        await using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        await connection.OpenAsync(Ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT group_concat(version || ':' || name) FROM schema_migrations;";

        Assert.Equal("1:initial,2:phone_lookup,3:program_arc,4:nodes", await command.ExecuteScalarAsync(Ct));
    }
}
