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

        Assert.Equal("1:initial,2:phone_lookup,3:program_arc,4:security,5:nodes,6:partial_lookup_indexes,7:grain_topics,8:queue_claims,9:state_compression", await command.ExecuteScalarAsync(Ct));
    }

    [Fact]
    public async Task AfterErasureNoByteOfTheFileOrItsWalHoldsTheErasedValues()
    {
        var path = NewPath();
        var store = Open(path);
        await store.MigrateAsync(Ct);
        const string phone = "+15559870123";
        const string email = "zebulon.q@example.org";
        // Large states (overflow pages) rewritten turn after turn: old images pile up in the WAL and in freed pages.
        var padding = new string('x', 6000);
        for (var i = 0; i < 5; i++)
        {
            await CommandAsync(store, Client("cli_z"), T0.AddMinutes(i), Write($$"""{"phone":"{{phone}}","email":"{{email}}","turn":{{i}},"pad":"{{padding}}"}""",
                new GrainProjection { Phone = phone, Email = email, DisplayName = "Zebulon" },
                outbox: [new OutboxWrite($"z/t{i}", "sms", phone, null, $"Hi Zebulon ({email})", "day2", null)]));
        }
        Assert.True(FileContains(path, phone), "the control: before erasure the phone is in the files");

        // The tombstone turn (what the client loop's decider writes), then the erasure of everything around it.
        await CommandAsync(store, Client("cli_z"), T0.AddHours(1), Write("""{"erased":true}""", new GrainProjection { DisplayName = "[erased]" }));
        await store.ErasePersonalDataAsync(Client("cli_z"), T0.AddHours(1), Ct);

        Assert.False(FileContains(path, phone), "phone still in the database file or its WAL");
        Assert.False(FileContains(path, email), "email still in the database file or its WAL");
        Assert.False(FileContains(path, "Zebulon"), "name still in the database file or its WAL");
    }

    /// <summary>Raw bytes of the database and its WAL, read while the store is open (as an attacker with the disk would).</summary>
    private static bool FileContains(string path, string text)
    {
        var needle = System.Text.Encoding.UTF8.GetBytes(text);
        foreach (var file in new[] { path, path + "-wal" })
        {
            if (!File.Exists(file)) continue;
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            if (copy.GetBuffer().AsSpan(0, (int)copy.Length).IndexOf(needle) >= 0) return true;
        }
        return false;
    }
}
