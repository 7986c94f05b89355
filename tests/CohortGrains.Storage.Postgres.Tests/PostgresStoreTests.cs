using System.Text.Json.Nodes;
using CohortGrains.Runtime.Storage;
using Npgsql;

namespace CohortGrains.Storage.Postgres.Tests;

/// <summary>What only PostgreSQL shows: several nodes migrating, creating and locking the same rows at the same time.</summary>
public sealed class PostgresStoreTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>, IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(30);
    private static CancellationToken Ct => CancellationToken.None;
    private readonly List<PostgresGrainStore> _stores = [];

    private PostgresGrainStore Open(string connectionString)
    {
        var store = new PostgresGrainStore(new PostgresStoreOptions { ConnectionString = connectionString });
        _stores.Add(store);
        return store;
    }

    private async Task<(PostgresGrainStore A, PostgresGrainStore B)> TwoNodesAsync()
    {
        var schema = database.ConnectionString(await database.CreateSchemaAsync());
        var a = Open(schema);
        await a.MigrateAsync(Ct);
        return (a, Open(schema));
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var store in _stores) await store.DisposeAsync();
    }

    [Fact]
    public async Task NodesStartingTogetherApplyEachMigrationOnce()
    {
        var schema = await database.CreateSchemaAsync();
        var nodes = Enumerable.Range(0, 5).Select(_ => Open(database.ConnectionString(schema))).ToList();

        await Task.WhenAll(nodes.Select(n => Task.Run(() => n.MigrateAsync(Ct))));

        Assert.All(await Task.WhenAll(nodes.Select(n => n.IsReadyAsync(Ct))), Assert.True);
        Assert.Equal("1:initial,2:phone_lookup,3:program_arc,4:security,5:nodes,6:partial_lookup_indexes,7:grain_topics,8:queue_claims,9:state_compression", await PostgresServer.ScalarAsync<string>(database.ConnectionString(schema),
            "SELECT string_agg(version || ':' || name, ',' ORDER BY version) FROM schema_migrations"));
    }

    [Fact]
    public async Task TurnsAndReadsPreparedWhileTheGrainsTableWasEmptyReadOnlyTheirOwnRowsOnceALaunchFillsIt()
    {
        // A launch fills an empty table faster than autovacuum analyzes it. Once, the lookup by key used an
        // (org, type, phone) index instead and read the whole org on every turn; later a batch's join to its arrays
        // was hashed over the whole table: enrolment ran at a fraction of its speed.
        var schema = database.ConnectionString(await database.CreateSchemaAsync());
        // One pooled connection: every turn below runs on it, prepared, as a busy node's turns do.
        var store = Open(new NpgsqlConnectionStringBuilder(schema) { MaxPoolSize = 1 }.ConnectionString);
        await store.MigrateAsync(Ct);
        await using var c = new NpgsqlConnection(schema);
        await c.OpenAsync();
        await ExecuteAsync(c, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements SCHEMA public");
        async Task<long> PagesReadAsync(string statement)
        {
            await using var q = new NpgsqlCommand(
                "SELECT coalesce(sum(shared_blks_hit + shared_blks_read), 0)::bigint FROM public.pg_stat_statements " +
                "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) " +
                "AND " + statement, c);
            return (long)(await q.ExecuteScalarAsync())!;
        }
        Task<IReadOnlyList<TurnOutcome>> TurnsAsync(IEnumerable<string> keys) => store.RunTurnsAsync(keys.Select(key =>
            new TurnRequest(new GrainId("org1", "ClientLoop", key), TurnTrigger.FromCommand, T0,
                _ => new TurnDecision.Write("{}", new GrainProjection(), [], [], [], []))).ToList(), Ct);

        for (var i = 0; i < 15; i++) await TurnsAsync([$"early{i}"]); // enough runs to be prepared and to keep a plan
        for (var i = 0; i < 15; i++) await TurnsAsync([$"early{i}"]);
        for (var i = 0; i < 30; i++) await store.LoadManyAsync([new GrainId("org1", "ClientLoop", $"early{i % 15}")], Ct);
        // No ANALYZE: a launch fills the table faster than autovacuum analyzes it.
        await ExecuteAsync(c, "INSERT INTO grains (org_id, grain_type, grain_key, version, updated_at, state) " +
            "SELECT 'org1', 'ClientLoop', 'c' || g, 1, now(), repeat('x', 500) FROM generate_series(1, 100000) g");
        const string turnStatements = "(query LIKE '%FOR UPDATE OF g%' OR query LIKE '%UPDATE grains AS g%')";
        const string loadStatement = "query LIKE '%Many grains in one statement%'";
        var (turnsBefore, loadsBefore) = (await PagesReadAsync(turnStatements), await PagesReadAsync(loadStatement));
        var outcomes = await TurnsAsync(Enumerable.Range(1, 16).Select(i => $"c{i * 1000}"));
        var loaded = await store.LoadManyAsync(Enumerable.Range(1, 16).Select(i => new GrainId("org1", "ClientLoop", $"c{i * 500}")).ToList(), Ct);
        var (turnsRead, loadsRead) = (await PagesReadAsync(turnStatements) - turnsBefore, await PagesReadAsync(loadStatement) - loadsBefore);

        Assert.All(outcomes, o => Assert.Equal(new TurnOutcome.Committed(2), o));
        Assert.Equal(16, loaded.Count);
        Assert.True(loadsBefore > 0, "the loads before the fill were counted");
        await using var size = new NpgsqlCommand("SELECT pg_relation_size('grains') / current_setting('block_size')::bigint", c);
        var pages = (long)(await size.ExecuteScalarAsync())!;
        // Locking and updating a grain costs a few page reads (its key's index path and heap page); a hash join costs
        // every page of the table.
        Assert.True(turnsRead < pages / 2, $"16 turns read {turnsRead} pages of a {pages}-page grains table");
        Assert.True(loadsRead < pages / 2, $"loading 16 grains read {loadsRead} pages of a {pages}-page grains table");
    }

    [Theory]
    [InlineData("timers",
        "INSERT INTO timers (org_id, grain_type, grain_key, name, due_at, payload, attempt) " +
        "SELECT 'org1', 'ClientLoop', 'c' || g, 'day2', @Due, '{}', 0 FROM generate_series(1, 100000) g")]
    [InlineData("outbox",
        "INSERT INTO outbox (org_id, grain_type, grain_key, idempotency_key, channel, recipient, body, template, status, " +
        "attempt, next_attempt_at, created_at, updated_at) SELECT 'org1', 'ClientLoop', 'c' || g, 'k' || g, 'sms', '+1555', " +
        "'hi', 't', 'pending', 0, @Due, @Due, @Due FROM generate_series(1, 100000) g")]
    public async Task AClaimPreparedWhileItsQueueWasEmptyReadsOnlyWhatItClaimsOnceAStormFillsIt(string queue, string fill)
    {
        // Npgsql prepares a statement it runs often, and PostgreSQL may then keep one plan for it. Claims first planned
        // on an empty queue sorted or hashed the whole queue on every claim once a storm had filled it (30-60 ms each).
        var schema = database.ConnectionString(await database.CreateSchemaAsync());
        // One pooled connection: every claim below runs on it, prepared, as a busy node's claims do.
        var store = Open(new NpgsqlConnectionStringBuilder(schema) { MaxPoolSize = 1 }.ConnectionString);
        await store.MigrateAsync(Ct);
        await using var c = new NpgsqlConnection(schema);
        await c.OpenAsync();
        // What each statement read, per database: test.sh loads pg_stat_statements into its server.
        await ExecuteAsync(c, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements SCHEMA public");
        async Task<int> ClaimAsync() => queue == "timers"
            ? (await store.ClaimDueTimersAsync("w1", T0, 16, Lease, Ct)).Count
            : (await store.ClaimOutboxAsync("w1", T0, 16, Lease, Ct)).Count;
        async Task<long> PagesReadByClaimsAsync()
        {
            await using var q = new NpgsqlCommand(
                "SELECT coalesce(sum(shared_blks_hit + shared_blks_read), 0)::bigint FROM public.pg_stat_statements " +
                "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) " +
                $"AND query LIKE '%UPDATE {queue}%' AND query LIKE '%SKIP LOCKED%'", c);
            return (long)(await q.ExecuteScalarAsync())!;
        }

        for (var i = 0; i < 15; i++) Assert.Equal(0, await ClaimAsync()); // enough runs to be prepared and to keep a plan
        await using (var storm = new NpgsqlCommand(fill, c) { Parameters = { new("Due", T0.AddMinutes(-1)) } })
        {
            await storm.ExecuteNonQueryAsync(); // no ANALYZE: a storm fills a queue faster than autovacuum analyzes it
        }
        var before = await PagesReadByClaimsAsync();
        Assert.Equal(16, await ClaimAsync());
        var read = await PagesReadByClaimsAsync() - before;

        await using var size = new NpgsqlCommand($"SELECT pg_relation_size('{queue}') / current_setting('block_size')::bigint", c);
        var pages = (long)(await size.ExecuteScalarAsync())!;
        // Claiming a row costs about ten page reads (its heap page and the index entries of its new version); reading
        // the whole queue costs every page of it.
        Assert.True(read < pages / 2, $"claiming 16 of 100,000 rows read {read} pages of a {pages}-page table");
    }

    private static async Task ExecuteAsync(NpgsqlConnection c, string sql)
    {
        await using var command = new NpgsqlCommand(sql, c);
        await command.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task AStoreIsReadyOnlyWhenReachableAndMigrated()
    {
        var store = Open(database.ConnectionString(await database.CreateSchemaAsync()));
        Assert.False(await store.IsReadyAsync(Ct));
        await store.MigrateAsync(Ct);
        Assert.True(await store.IsReadyAsync(Ct));

        var nowhere = new NpgsqlConnectionStringBuilder(database.ConnectionString()) { Port = 1, Timeout = 2 }.ConnectionString;
        Assert.False(await Open(nowhere).IsReadyAsync(Ct));
    }

    [Fact]
    public async Task AGrainStateLongEnoughToCompressIsCompressedWithLz4()
    {
        var schema = database.ConnectionString(await database.CreateSchemaAsync());
        var store = Open(schema);
        await store.MigrateAsync(Ct);
        // As long as a client loop's state (about 1.8 kB): PostgreSQL compresses it on every write.
        var state = new JsonObject { ["notes"] = string.Join(", ", Enumerable.Range(0, 250).Select(i => $"note {i}")) }.ToJsonString();

        await store.RunTurnAsync(new GrainId("org1", "ClientLoop", "ana"), TurnTrigger.FromCommand, T0,
            _ => new TurnDecision.Write(state, new GrainProjection(), [], [], [], []), Ct);

        Assert.Equal("lz4", await PostgresServer.ScalarAsync<string>(schema, "SELECT pg_column_compression(state) FROM grains"));
        Assert.Equal(state, (await store.LoadAsync(new GrainId("org1", "ClientLoop", "ana"), Ct))!.StateJson);
    }

    [Fact]
    public async Task InstantsWithAnOffsetAreStoredAsTheSameInstant()
    {
        var (store, _) = await TwoNodesAsync();
        // Cadence computes due times in the client's zone; timestamptz takes UTC only, so the store converts.
        var dueInNewYork = new DateTimeOffset(2026, 3, 5, 9, 0, 0, TimeSpan.FromHours(-5));
        await store.RunTurnAsync(new GrainId("org1", "ClientLoop", "ana"), TurnTrigger.FromCommand, T0.ToOffset(TimeSpan.FromHours(1)),
            _ => new TurnDecision.Write("{}", new GrainProjection { NextSessionAt = dueInNewYork },
                [new TimerWrite("day2", dueInNewYork, "{}")], [], [], []), Ct);

        var timer = Assert.Single(await store.ClaimDueTimersAsync("w1", dueInNewYork, 10, Lease, Ct));
        Assert.Equal(dueInNewYork.UtcDateTime, timer.DueAt.UtcDateTime);
        var row = Assert.Single(await store.QueryGrainsAsync(new GrainQuery("org1", "ClientLoop"), Ct));
        Assert.Equal((T0, dueInNewYork), (row.UpdatedAt, row.Projection.NextSessionAt!.Value));
    }

    [Fact]
    public async Task TwoNodesCreatingTheSameGrainAtOnceSerializeTheirTurns()
    {
        var (a, b) = await TwoNodesAsync();
        var id = new GrainId("org1", "Coach", "kim");

        // 2 × 40 turns at once on a grain that does not exist yet: the first two race to create it.
        var turns = Enumerable.Range(0, 80).Select(i => Task.Run(() => (i % 2 == 0 ? a : b).RunTurnAsync(
            id, TurnTrigger.FromCommand, T0, Increment, Ct)));
        var outcomes = await Task.WhenAll(turns);

        // Every turn saw the previous one's state: versions 1..80 once each, and no increment lost.
        Assert.Equal(Enumerable.Range(1, 80).Select(v => (long)v),
            outcomes.Select(o => Assert.IsType<TurnOutcome.Committed>(o).Version).Order());
        var stored = (await a.LoadAsync(id, Ct))!;
        Assert.Equal((80L, 80), (stored.Version, JsonNode.Parse(stored.StateJson)!["count"]!.GetValue<int>()));
    }

    [Fact]
    public async Task ARejectedFirstTurnLeavesNoRowAndDoesNotBlockTheNext()
    {
        var (a, b) = await TwoNodesAsync();
        var id = new GrainId("org1", "ClientLoop", "new");

        var rejected = await a.RunTurnAsync(id, TurnTrigger.FromCommand, T0, _ => new TurnDecision.Reject("invalid", "no"), Ct);
        var created = await b.RunTurnAsync(id, TurnTrigger.FromCommand, T0, g => { Assert.Null(g); return Increment(g); }, Ct);

        Assert.IsType<TurnOutcome.Rejected>(rejected);
        Assert.Equal(new TurnOutcome.Committed(1), created);
        Assert.Single(await a.QueryGrainsAsync(new GrainQuery("org1", "ClientLoop"), Ct));
    }

    [Fact]
    public async Task ATimerWhoseLeaseRunsOutMidTurnIsNotClaimedUntilThatTurnCommits()
    {
        var (a, b) = await TwoNodesAsync();
        var id = new GrainId("org1", "ClientLoop", "ana");
        await a.RunTurnAsync(id, TurnTrigger.FromCommand, T0, _ => new TurnDecision.Write("""{"count":0}""", new GrainProjection(),
            [new TimerWrite("day2", T0, "{}")], [], [], []), Ct);
        var claimed = Assert.Single(await a.ClaimDueTimersAsync("node-a", T0, 10, Lease, Ct));

        // node-a's turn is slow: it holds the grain and the timer while its lease runs out.
        var entered = new TaskCompletionSource();
        using var proceed = new ManualResetEventSlim();
        var slowTurn = Task.Run(() => a.RunTurnAsync(id, new TurnTrigger.Timer("day2", claimed.Attempt), T0 + Lease, g =>
        {
            entered.SetResult();
            proceed.Wait(TimeSpan.FromSeconds(30));
            return Increment(g);
        }, Ct));
        await entered.Task;

        // node-b sees an expired lease but the row is locked by a live turn: SKIP LOCKED passes it by.
        Assert.Empty(await b.ClaimDueTimersAsync("node-b", T0 + Lease + Lease, 10, Lease, Ct));
        proceed.Set();
        Assert.Equal(new TurnOutcome.Committed(2), await slowTurn);
        Assert.Empty(await b.ClaimDueTimersAsync("node-b", T0 + Lease + Lease, 10, Lease, Ct));
        Assert.Equal(0, (await b.GetTimerBacklogAsync(T0 + Lease + Lease, Ct)).Total);
    }

    private static TurnDecision Increment(StoredGrain? grain)
    {
        var count = grain is null ? 0 : JsonNode.Parse(grain.StateJson)!["count"]!.GetValue<int>();
        return new TurnDecision.Write(new JsonObject { ["count"] = count + 1 }.ToJsonString(), new GrainProjection(), [], [], [], []);
    }
}
