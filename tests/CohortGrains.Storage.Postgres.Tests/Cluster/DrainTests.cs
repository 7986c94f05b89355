using System.Diagnostics;
using CohortGrains.Runtime.Workers;

namespace CohortGrains.Storage.Postgres.Tests.Cluster;

/// <summary>SIGTERM on a busy node: stop claiming, finish the turn that is running, hand back the rest, deregister.</summary>
public sealed class DrainTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    [Fact]
    public async Task ADrainingNodeFinishesItsRunningTurnReleasesWhatItHadNotStartedAndDeregisters()
    {
        var db = database.ConnectionString(await database.CreateSchemaAsync());
        await using var store = new PostgresGrainStore(new PostgresStoreOptions { ConnectionString = db });
        await store.MigrateAsync(CancellationToken.None);
        await PostgresServer.ExecuteAsync(db, $$"""
            INSERT INTO timers (org_id, grain_type, grain_key, name, due_at, payload)
            SELECT 'org1', '{{TallyGrain.TypeName}}', 'g' || i, 'r' || i, now(), '{"Id":"r' || i || '"}'
            FROM generate_series(0, 19) AS i
            """);

        // One turn at a time, and the first one blocks inside decide (holding its grain and timer) until told to go on.
        var entered = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var proceed = new ManualResetEventSlim();
        var workers = new WorkerOptions { TimerBatchSize = 20, TurnBatchSize = 1, MaxConcurrentBatches = 1, LeaseDuration = TimeSpan.FromSeconds(30), IdlePoll = TimeSpan.FromMilliseconds(100) };
        await using var node = new TestNode("node-1", db, workers, fire =>
        {
            entered.TrySetResult(fire.Id);
            proceed.Wait(TimeSpan.FromSeconds(30));
        });
        await node.StartAsync();
        var running = await entered.Task.WaitAsync(TimeSpan.FromSeconds(30));

        var drained = node.DrainAsync();

        // While the turn runs, the node is listed as draining and still holds the whole batch.
        await WaitUntilAsync(async () => (await store.ListNodesAsync(CancellationToken.None)).SingleOrDefault()?.Draining == true);
        Assert.False(drained.IsCompleted);
        Assert.Equal(20L, await PostgresServer.ScalarAsync<long>(db, "SELECT COUNT(*) FROM timers WHERE lease_owner = 'node-1'"));

        proceed.Set();
        await drained.WaitAsync(TimeSpan.FromSeconds(30));

        // The running turn committed; nothing else started; the other 19 are free for any node right now, and the node is gone.
        Assert.Equal([(running, "node-1")], await TallyGrain.ReadTalliesAsync(db));
        Assert.Equal(19L, await PostgresServer.ScalarAsync<long>(db, "SELECT COUNT(*) FROM timers WHERE lease_owner IS NULL AND attempt = 1"));
        Assert.Empty(await store.ListNodesAsync(CancellationToken.None));
        Assert.Equal(19, (await store.ClaimDueTimersAsync("node-2", DateTimeOffset.UtcNow, 100, TimeSpan.FromSeconds(30), CancellationToken.None)).Count);
        Assert.Empty(node.Logs.Entries);
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(30)) Assert.Fail("timed out");
            await Task.Delay(20);
        }
    }
}
