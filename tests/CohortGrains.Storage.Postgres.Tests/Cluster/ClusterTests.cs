using System.Diagnostics;
using CohortGrains.Runtime.Storage;
using CohortGrains.Runtime.Workers;
using Xunit.Abstractions;

namespace CohortGrains.Storage.Postgres.Tests.Cluster;

/// <summary>
/// Several nodes on one PostgreSQL, each with its own store, workers and membership, sharing work only through leased
/// claims. Every assertion is counted from the store: each tally grain records which deliveries it turned and where.
/// Real time throughout, because leases are real time; the lease is short (2 s) to keep the runs short.
/// </summary>
public sealed class ClusterTests(PostgresDatabase database, ITestOutputHelper output) : IClassFixture<PostgresDatabase>, IAsyncLifetime
{
    private const int TimerCount = 10_000;
    private const int GrainCount = 2_500;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);

    private static WorkerOptions Workers() => new()
    {
        TimerBatchSize = 64,
        MaxConcurrentBatches = 4,
        LeaseDuration = TimeSpan.FromSeconds(2),
        // Nodes are not woken by each other's work: they poll when idle.
        IdlePoll = TimeSpan.FromMilliseconds(100),
    };

    private readonly List<TestNode> _nodes = [];
    private string _db = "";

    public async Task InitializeAsync()
    {
        _db = database.ConnectionString(await database.CreateSchemaAsync());
        await using var migrator = new PostgresGrainStore(new PostgresStoreOptions { ConnectionString = _db });
        await migrator.MigrateAsync(CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        foreach (var node in _nodes) await node.DisposeAsync();
        foreach (var node in _nodes)
        {
            var entries = node.Logs.Entries.ToList();
            if (entries.Count > 0) output.WriteLine($"{node.Id}: {entries.Count} warnings/errors, first: {string.Join(" | ", entries.Take(3))}");
        }
    }

    private async Task<TestNode[]> StartNodesAsync(params string[] ids)
    {
        var nodes = ids.Select(id => new TestNode(id, _db, Workers())).ToArray();
        _nodes.AddRange(nodes);
        await Task.WhenAll(nodes.Select(n => n.StartAsync()));
        return nodes;
    }

    /// <summary>
    /// 10,000 reminders ("r0".."r9999") due at the same instant, four per grain, interleaved so that neighbouring rows
    /// belong to different grains (as a launch's Day-2 nudges would). Written in one statement: setting up the storm
    /// is not what is under test.
    /// </summary>
    private async Task SeedRemindersDueNowAsync()
    {
        await PostgresServer.ExecuteAsync(_db, $$"""
            INSERT INTO timers (org_id, grain_type, grain_key, name, due_at, payload)
            SELECT 'org1', '{{TallyGrain.TypeName}}', 'g' || (i % {{GrainCount}}), 'r' || i, now(), '{"Id":"r' || i || '"}'
            FROM generate_series(0, {{TimerCount - 1}}) AS i
            """);
    }

    private Task<long> RemainingAsync() => PostgresServer.ScalarAsync<long>(_db, "SELECT COUNT(*) FROM timers");

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > Deadline) Assert.Fail($"Timed out after {Deadline.TotalSeconds}s waiting until {what}");
            await Task.Delay(50);
        }
    }

    private async Task<TimeSpan> WaitUntilAllTurnedAsync()
    {
        var clock = Stopwatch.StartNew();
        await WaitUntilAsync(async () => await RemainingAsync() == 0, "every timer is turned");
        return clock.Elapsed;
    }

    /// <summary>Every reminder turned once: all ids present, none twice. Returns how many each node turned.</summary>
    private async Task<Dictionary<string, int>> AssertEveryReminderTurnedExactlyOnceAsync()
    {
        var tallies = await TallyGrain.ReadTalliesAsync(_db);
        var twice = tallies.GroupBy(t => t.Id).Where(g => g.Count() > 1).Select(g => $"{g.Key} on {string.Join(",", g.Select(t => t.Node))}").ToList();
        Assert.True(twice.Count == 0, $"{twice.Count} timers turned more than once, e.g. {string.Join("; ", twice.Take(5))}");
        Assert.Equal(Enumerable.Range(0, TimerCount).Select(i => $"r{i}").Order(), tallies.Select(t => t.Id).Order());
        Assert.Equal(0, await RemainingAsync());
        return tallies.GroupBy(t => t.Node).ToDictionary(g => g.Key, g => g.Count());
    }

    [Fact]
    public async Task ThreeNodesTurnTenThousandTimersDueAtOnceExactlyOnceSpreadOverAllThree()
    {
        await SeedRemindersDueNowAsync();
        await StartNodesAsync("node-1", "node-2", "node-3");

        var took = await WaitUntilAllTurnedAsync();

        var byNode = await AssertEveryReminderTurnedExactlyOnceAsync();
        output.WriteLine($"{TimerCount} turns on 3 nodes in {took.TotalSeconds:F1}s ({TimerCount / took.TotalSeconds:F0} turns/s): {string.Join(", ", byNode.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key} {kv.Value}"))}");
        Assert.Equal(["node-1", "node-2", "node-3"], byNode.Keys.Order());
        // Nothing assigns work to a node: each takes what it can. Spread means each did a real share, not a token one.
        Assert.All(byNode.Values, turned => Assert.True(turned >= TimerCount / 10, $"a node turned only {turned} of {TimerCount}"));
    }

    [Fact]
    public async Task ANodeKilledMidBatchLosesNothingAndTheOthersTakeOverItsLeases()
    {
        await SeedRemindersDueNowAsync();
        var nodes = await StartNodesAsync("node-1", "node-2", "node-3");
        var victim = nodes[2];
        await WaitUntilAsync(async () => await RemainingAsync() <= TimerCount * 2 / 3, "a third is done");

        // node-3 dies when its next 20th turn starts: turns in flight are cut off, claimed timers stay leased to it.
        victim.Store.KillAfterTurns(20);
        await WaitUntilAsync(() => Task.FromResult(victim.Store.IsKilled), "node-3 died");
        await victim.KillAsync();
        var orphaned = await PostgresServer.ScalarAsync<long>(_db, "SELECT COUNT(*) FROM timers WHERE lease_owner = 'node-3'");
        Assert.True(orphaned > 0, "node-3 should have died holding claimed timers");

        var took = await WaitUntilAllTurnedAsync();

        var byNode = await AssertEveryReminderTurnedExactlyOnceAsync();
        output.WriteLine($"node-3 died holding {orphaned} claims; the rest finished {took.TotalSeconds:F1}s later: {string.Join(", ", byNode.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key} {kv.Value}"))}");
        Assert.True(byNode.GetValueOrDefault("node-3") > 0, "node-3 did work before it died");
        // The survivors drain and deregister; the dead node never did, so it is still listed (and ages out).
        await Task.WhenAll(nodes[0].DrainAsync(), nodes[1].DrainAsync());
        await using var store = new PostgresGrainStore(new PostgresStoreOptions { ConnectionString = _db });
        Assert.Equal(["node-3"], (await store.ListNodesAsync(CancellationToken.None)).Select(n => n.NodeId));
        Assert.Equal(0L, await PostgresServer.ScalarAsync<long>(_db, "SELECT COUNT(*) FROM timers WHERE lease_owner IS NOT NULL"));
    }

    [Fact]
    public async Task NodesReconnectAfterPostgresRestartsMidStormAndFinishWithNothingLost()
    {
        await SeedRemindersDueNowAsync();
        var nodes = await StartNodesAsync("node-1", "node-2", "node-3");
        await WaitUntilAsync(async () => await RemainingAsync() <= TimerCount * 2 / 3, "a third is done");

        var restart = Stopwatch.StartNew();
        await PostgresServer.RestartAsync(CancellationToken.None);
        output.WriteLine($"PostgreSQL restarted in {restart.Elapsed.TotalSeconds:F1}s");
        var took = await WaitUntilAllTurnedAsync();

        var byNode = await AssertEveryReminderTurnedExactlyOnceAsync();
        output.WriteLine($"finished {took.TotalSeconds:F1}s after the restart: {string.Join(", ", byNode.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key} {kv.Value}"))}");
        // The restart really cut the nodes off mid-work (they logged it), and they recovered on their own.
        Assert.Contains(nodes, n => !n.Logs.Entries.IsEmpty);
    }

    [Fact]
    public async Task TwoNodesDeliveringToOneGrainSerializeItsTurnsAndLoseNoUpdate()
    {
        const int messages = 400, commandsPerNode = 50;
        var hot = new GrainId("org1", TallyGrain.TypeName, "hot"); // does not exist yet: the first turns race to create it
        var nodes = new[] { new TestNode("node-1", _db, Workers()), new TestNode("node-2", _db, Workers()) };
        _nodes.AddRange(nodes);
        await nodes[0].Runtime.PostAsync(Enumerable.Range(0, messages).Select(i => (hot, (object)new Fire($"m{i}"))).ToList(), CancellationToken.None);

        // Both nodes' workers take the messages while both gateways send commands to the same grain.
        await Task.WhenAll(nodes.Select(n => n.StartAsync()));
        var commands = nodes.SelectMany(n => Enumerable.Range(0, commandsPerNode).Select(i =>
            Task.Run(() => n.Runtime.SendAsync<List<string>>(hot, new Fire($"c{i}-{n.Id}"), CancellationToken.None)))).ToList();
        var results = await Task.WhenAll(commands);
        await WaitUntilAllTurnedAsync();

        var total = messages + 2 * commandsPerNode;
        var tallies = await TallyGrain.ReadTalliesAsync(_db);
        Assert.Equal(total, tallies.Select(t => t.Id).Distinct().Count());
        Assert.Equal(total, tallies.Count);
        // One version per turn: every turn saw the one before it.
        Assert.Equal(total, (await nodes[0].Store.LoadAsync(hot, CancellationToken.None))!.Version);
        Assert.Equal(2 * commandsPerNode, results.Select(r => Assert.IsType<Runtime.GrainCall<List<string>>.Ok>(r).Version).Distinct().Count());
        var messagesByNode = tallies.Where(t => t.Id.StartsWith('m')).GroupBy(t => t.Node).ToDictionary(g => g.Key, g => g.Count());
        output.WriteLine($"message turns by node: {string.Join(", ", messagesByNode.Select(kv => $"{kv.Key} {kv.Value}"))}");
        Assert.Equal(2, messagesByNode.Count);
    }
}
