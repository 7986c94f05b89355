using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
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
        Assert.Equal("1:initial,2:phone_lookup,3:program_arc,4:security,5:nodes,6:partial_lookup_indexes,7:grain_topics,8:queue_claims", await PostgresServer.ScalarAsync<string>(database.ConnectionString(schema),
            "SELECT string_agg(version || ':' || name, ',' ORDER BY version) FROM schema_migrations"));
    }

    [Fact]
    public async Task OnATableTooNewForStatisticsAGrainIsLockedThroughItsPrimaryKey()
    {
        // A launch fills an empty table faster than autovacuum analyzes it. Once, the lookup by key used an
        // (org, type, phone) index instead and read the whole org on every turn: enrolment ran at a fifth of its speed.
        var schema = database.ConnectionString(await database.CreateSchemaAsync());
        await Open(schema).MigrateAsync(Ct);
        await using var c = new NpgsqlConnection(schema);
        await c.OpenAsync();
        await using (var generic = new NpgsqlCommand("SET plan_cache_mode = force_generic_plan; " +
            "PREPARE lock_grain(text, text, text) AS SELECT version FROM grains WHERE org_id = $1 AND grain_type = $2 AND grain_key = $3 FOR UPDATE", c))
        {
            await generic.ExecuteNonQueryAsync();
        }
        await using var explain = new NpgsqlCommand("EXPLAIN (FORMAT JSON) EXECUTE lock_grain('org1', 'ClientLoop', 'ana')", c);
        var plan = JsonNode.Parse((string)(await explain.ExecuteScalarAsync())!)!.ToJsonString();

        Assert.Contains("\"Index Name\":\"grains_pkey\"", plan);
    }

    [Theory]
    [InlineData("ClaimDueTimers",
        "INSERT INTO timers (org_id, grain_type, grain_key, name, due_at, payload, attempt) " +
        "SELECT 'org1', 'ClientLoop', 'c' || g, 'day2', now(), '{}', 0 FROM generate_series(1, 20000) g")]
    [InlineData("ClaimOutbox",
        "INSERT INTO outbox (org_id, grain_type, grain_key, idempotency_key, channel, recipient, body, template, status, " +
        "attempt, next_attempt_at, created_at, updated_at) SELECT 'org1', 'ClientLoop', 'c' || g, 'k' || g, 'sms', '+1555', " +
        "'hi', 't', 'pending', 0, now(), now(), now() FROM generate_series(1, 20000) g")]
    public async Task AClaimPreparedWhileItsQueueWasEmptyStillReadsOnlyWhatItClaimsOnceAStormFillsIt(string query, string fill)
    {
        // Npgsql prepares a statement it runs often; PostgreSQL may then keep one generic plan for it. A claim planned
        // on an empty queue sorted or hashed the whole queue on every claim once a storm had filled it.
        var schema = database.ConnectionString(await database.CreateSchemaAsync());
        await Open(schema).MigrateAsync(Ct);
        await using var c = new NpgsqlConnection(schema);
        await c.OpenAsync();
        var sql = SqlCatalog.Load(typeof(PostgresGrainStore).Assembly, ".Sql.timers.sql", ".Sql.outbox.sql");
        // The store's own statement, its @names numbered as PostgreSQL's $n in order of appearance.
        var names = Regex.Matches(sql[query], @"@(\w+)").Select(m => m.Groups[1].Value).Distinct().ToList();
        var numbered = Regex.Replace(sql[query], @"@(\w+)", m => "$" + (names.IndexOf(m.Groups[1].Value) + 1));
        var values = new Dictionary<string, string>
        {
            ["Owner"] = "'w1'", ["Now"] = "now()", ["LeaseUntil"] = "now() + interval '30 seconds'", ["Max"] = "256",
        };
        var execute = $"EXECUTE claim({string.Join(", ", names.Select(n => values[n]))})";
        await ExecuteAsync(c, $"PREPARE claim AS {numbered}");
        // As the store claims: in a transaction that first runs ClaimPlan. Enough runs on the empty queue for
        // PostgreSQL to settle on a plan it keeps; then the storm fills the queue, faster than autovacuum analyzes it.
        async Task<string> ClaimAsync(string statement)
        {
            await using var tx = await c.BeginTransactionAsync();
            await ExecuteAsync(c, sql["ClaimPlan"], tx);
            await using var command = new NpgsqlCommand(statement, c, tx);
            return (await command.ExecuteScalarAsync())?.ToString() ?? "";
        }
        for (var i = 0; i < 10; i++) await ClaimAsync(execute);
        await ExecuteAsync(c, fill);

        var plan = JsonNode.Parse(await ClaimAsync($"EXPLAIN (FORMAT JSON) {execute}"))!.ToJsonString();

        Assert.DoesNotContain("\"Seq Scan\"", plan);
        Assert.DoesNotContain("Sort\"", plan);
        Assert.DoesNotContain("Bitmap", plan);
    }

    private static async Task ExecuteAsync(NpgsqlConnection c, string sql, NpgsqlTransaction? tx = null)
    {
        await using var command = new NpgsqlCommand(sql, c, tx);
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
