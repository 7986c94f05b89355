using CohortGrains.Domain.ClientLoops;
using CohortGrains.Domain.Programs;
using CohortGrains.Host.Tests.Infrastructure;
using CohortGrains.Runtime.Grains;
using CohortGrains.Runtime.Storage;
using CohortGrains.Storage.Postgres;

namespace CohortGrains.Storage.Postgres.Tests.Cluster;

/// <summary>
/// Three real node processes on one PostgreSQL; one is SIGKILLed while it holds claimed work (no drain, no lease
/// hand-back). Every message still turns exactly once: each grain ends at exactly the version its messages make.
/// Waits are bounded polls on the database: the nodes run on the real clock in their own processes.
/// </summary>
public sealed class KilledNodeProcessTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    private const int Clients = 400;
    private const int MessagesPerClient = 6;

    [Fact]
    public async Task ANodeProcessKilledWhileHoldingLeasesLosesAndDoublesNothing()
    {
        var connectionString = database.ConnectionString(await database.CreateSchemaAsync());
        await using var store = new PostgresGrainStore(new PostgresStoreOptions { ConnectionString = connectionString });
        await store.MigrateAsync(default);
        var loops = GrainTypeRegistry.Default().Get(ClientLoopDecider.GrainType);
        var program = ProgramDefinition.Default(new SessionSchedule(DayOfWeek.Monday, new TimeOnly(10, 0), "UTC"));
        GrainId Client(int i) => new("org_kill", ClientLoopDecider.GrainType, $"cli_{i:D4}");

        var data = Path.Combine(Path.GetTempPath(), "cohortgrains-kill", Guid.NewGuid().ToString("N"));
        var nodes = new List<NodeProcess>();
        try
        {
            for (var n = 0; n < 3; n++)
            {
                nodes.Add(await NodeProcess.StartAsync(new Dictionary<string, string>
                {
                    ["Storage:Provider"] = "Postgres",
                    ["ConnectionStrings:Postgres"] = connectionString,
                    ["Storage:DataDirectory"] = Path.Combine(data, $"node{n}"),
                    ["Operator:ApiKey"] = "cg_kill-test-operator-key",
                    ["Links:Secret"] = "kill-test-link-secret-0123456789abcdef",
                    // A short lease so the dead node's claims come back quickly; small batches so every node gets some.
                    ["Workers:LeaseDuration"] = "00:00:03",
                    ["Workers:TimerBatchSize"] = "16",
                    ["Workers:IdlePoll"] = "00:00:00.050",
                }));
            }

            // Create the loops first, so every later message finds its grain.
            await store.EnqueueMessagesAsync(Enumerable.Range(0, Clients).Select(i => new MessageWrite(Client(i), loops.SerializeMessage(
                new Enroll($"cli_{i:D4}", "coh_1", "coa_1", "Maya Chen", new ClientProfile($"Client {i}", null, $"c{i}@example.com", "UTC", 9),
                    new Consent(false), program)))).ToList(), DateTimeOffset.UtcNow, default);
            await WaitAsync(async () => await TimersAsync(connectionString) == 0, "the enrolments to run");

            // Then the storm: six messages per grain, each one version more when it turns (a Resumed on a running loop
            // changes nothing but is still a committed turn).
            var resumed = loops.SerializeMessage(new Resumed());
            await store.EnqueueMessagesAsync(Enumerable.Range(0, Clients)
                .SelectMany(i => Enumerable.Repeat(new MessageWrite(Client(i), resumed), MessagesPerClient)).ToList(), DateTimeOffset.UtcNow, default);

            var victim = nodes[1];
            var port = new Uri(victim.BaseUrl).Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
            await WaitAsync(async () => await PostgresServer.ScalarAsync<long>(connectionString,
                $"SELECT count(*) FROM timers t JOIN nodes n ON n.node_id = t.lease_owner WHERE n.address LIKE '%:{port}%'") > 0,
                "the victim to hold claimed timers");
            await victim.KillAsync();
            var leftWhenKilled = await TimersAsync(connectionString);
            Assert.True(leftWhenKilled > 0, "the storm was already over when the node died: nothing tested");

            await WaitAsync(async () => await TimersAsync(connectionString) == 0, "the survivors to finish, the victim's leases included");
            var versions = await PostgresServer.ScalarAsync<string>(connectionString,
                "SELECT string_agg(DISTINCT version::text, ',') FROM grains WHERE grain_type = 'ClientLoop'");
            Assert.Equal((1 + MessagesPerClient).ToString(System.Globalization.CultureInfo.InvariantCulture), versions);
            Assert.Equal(Clients, await PostgresServer.ScalarAsync<long>(connectionString, "SELECT count(*) FROM grains WHERE grain_type = 'ClientLoop'"));
        }
        finally
        {
            foreach (var node in nodes) await node.DisposeAsync();
            try { Directory.Delete(data, recursive: true); } catch (IOException) { }
        }
    }

    private static Task<long> TimersAsync(string connectionString) => PostgresServer.ScalarAsync<long>(connectionString, "SELECT count(*) FROM timers");

    private static async Task WaitAsync(Func<Task<bool>> done, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!await done())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"timed out waiting for {what}");
            await Task.Delay(20);
        }
    }
}
