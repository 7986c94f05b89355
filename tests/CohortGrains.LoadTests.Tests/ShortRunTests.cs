using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using CohortGrains.LoadTests;
using Npgsql;

namespace CohortGrains.LoadTests.Tests;

/// <summary>
/// Each scenario, seconds long with small N, against real nodes (deploy/local-cluster.sh on free loopback ports) on the
/// PostgreSQL ./test.sh starts, each in a database of its own. They check the tools work and the correctness checks
/// (exactly once, zero errors) pass; the benchmark targets are reported by the full runs, never asserted here.
/// </summary>
public sealed class ShortRunTests
{
    private const string Missing = "PostgreSQL not available: run ./test.sh (it starts a throwaway server and sets COHORTGRAINS_TEST_POSTGRES)";

    private static async Task<ScenarioResult> RunShortAsync(string scenario, params string[] extra)
    {
        var admin = Environment.GetEnvironmentVariable("COHORTGRAINS_TEST_POSTGRES") is { Length: > 0 } cs ? cs : throw new InvalidOperationException(Missing);
        var database = $"load_{scenario}_{Guid.NewGuid():N}"[..30];
        await ExecAsync(admin, $"CREATE DATABASE {database}");
        var work = Directory.CreateTempSubdirectory("cohortgrains-load-");
        try
        {
            var repo = LoadOptions.FindRepo(AppContext.BaseDirectory);
            var connection = new NpgsqlConnectionStringBuilder(admin) { Database = database, MaxPoolSize = 20 }.ConnectionString;
            var options = LoadOptions.Parse([scenario, "--short", "--quiet", "--repo", repo, "--no-build",
                "--cluster-dir", Path.Combine(work.FullName, "cluster"), "--results", Path.Combine(work.FullName, "results"),
                "--base-port", FreeBase().ToString(System.Globalization.CultureInfo.InvariantCulture), "--postgres", connection, .. extra]);
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
            var result = await LoadRunner.RunAsync(options, timeout.Token);
            Assert.True(result.Passed, $"{result.Error}; checks: {string.Join(", ", result.Checks.Where(c => !c.Value).Select(c => c.Key))}");
            foreach (var path in new[] { result.JsonPath, result.MarkdownPath, result.SvgPath }) Assert.True(File.Exists(path), path);
            var json = JsonNode.Parse(await File.ReadAllTextAsync(result.JsonPath!))!;
            Assert.Equal(scenario, json["scenario"]!.GetValue<string>());
            Assert.True(json["machine"]!["cores"]!.GetValue<int>() > 0);
            // The server's own settings, read from the run's database: a tuned PostgreSQL shows as one.
            var postgres = json["machine"]!["postgres"]!;
            Assert.Matches(@"^\d+(\.\d+)?", postgres["server_version"]!.GetValue<string>());
            foreach (var setting in new[] { "fsync", "shared_buffers", "max_wal_size" })
                Assert.Equal(await QueryAsync(admin, $"SHOW {setting}"), postgres[setting]!.GetValue<string>());
            Assert.Matches(@"^([0-9a-f]{7,}(-dirty)?|unknown \(.+\))$", json["parameters"]!["commit"]!.GetValue<string>());
            Assert.StartsWith("<svg", await File.ReadAllTextAsync(result.SvgPath!));
            Assert.NotEmpty(result.Series);
            return result;
        }
        finally
        {
            // The nodes are stopped by the runner; drop the database (WITH FORCE: a pooled connection may linger).
            await ExecAsync(admin, $"DROP DATABASE IF EXISTS {database} WITH (FORCE)");
            work.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task LaunchEnrolsEveryClientAndLogsTheirSessions()
    {
        var r = await RunShortAsync("launch", "--clients", "200");
        Assert.Equal(200, (int)r.Figures["enrolledClients"]!);
        Assert.True((double)r.Figures["enrolmentsPerSecond"]! > 0);
        Assert.Contains(r.Targets, t => t.Name.StartsWith("enrolments/s", StringComparison.Ordinal));
    }

    [Fact]
    public async Task StormDrainsEveryTimerExactlyOnce()
    {
        var r = await RunShortAsync("storm", "--timers", "200");
        Assert.True(r.Checks["exactly one Day-2 touch per client"]);
        Assert.Equal(200, (int)r.Figures["timersDueAtOnce"]!);
        Assert.Equal(0, (int)r.Figures["clientsWithDuplicateDay2"]!);
        Assert.True((double)r.Figures["turnsPerSecond"]! > 0);
        Assert.True((double)r.Figures["outboxSendsPerSecond"]! > 0);
        AssertCpuSplit(r.Figures["cpu"], "msPerTurn");
        // Each turn writes its grain, timer, outbox row and touch fact, and each send its result: some WAL, and not
        // megabytes of it.
        Assert.InRange((double)r.Figures["walKbPerTurn"]!, 0.5, 1024);
    }

    /// <summary>The phase's CPU, read from /proc, for the nodes, this machine's PostgreSQL and the generator.</summary>
    private static void AssertCpuSplit(object? cpu, string perUnit)
    {
        var split = (Dictionary<string, double?>)((Dictionary<string, object?>)cpu!)[perUnit]!;
        Assert.True(split["nodes"] > 0, "nodes");
        Assert.True(split["postgres"] > 0, "postgres"); // the tests' server runs here, so its backends are found
        Assert.True(split["generator"] > 0, "generator");
    }

    [Fact]
    public async Task RepliesAnswerWithoutErrors()
    {
        var r = await RunShortAsync("replies", "--clients", "50", "--rate", "50", "--duration", "2", "--concurrency", "8");
        Assert.True(r.Checks["zero errors"]);
        foreach (var phase in new[] { "fixedRate", "maxRate" })
        {
            // The nodes' own histogram counts exactly the requests of the phase: the warm-up before it is left out, and
            // the metric lines are read even though their route label holds braces ({clientId}).
            var figures = (Dictionary<string, object?>)r.Figures[phase]!;
            var requests = (long)figures["requests"]!;
            Assert.True(requests > 0, phase);
            Assert.Equal(requests, (double)((Dictionary<string, object?>)figures["serverSide"]!)["requests"]!);
            AssertCpuSplit(figures["cpu"], "msPerRequest");
            Assert.InRange((double)figures["walKbPerRequest"]!, 0.1, 1024);
        }
    }

    [Fact]
    public async Task SoakReportsMemoryDatabaseSizeAndTurnRate()
    {
        var r = await RunShortAsync("soak", "--clients", "200", "--duration", "8");
        Assert.True((double)r.Figures["maxNodeRssMbTotal"]! > 10);
        Assert.True((double)r.Figures["databaseMb"]! > 1);
        Assert.True((double)r.Figures["turnsPerSecondPeakDuringWeek"]! > 0);
        var byKind = (Dictionary<string, double>)r.Figures["turnsDuringWeekByKind"]!;
        Assert.Contains(byKind, k => k.Key.Contains("trigger=\"reminder\"", StringComparison.Ordinal) && k.Value > 0);
    }

    private static int FreeBase()
    {
        // Node i listens on base + i - 1: find a base whose next few ports are free right now.
        for (var attempt = 0; attempt < 100; attempt++)
        {
            var base_ = Random.Shared.Next(20000, 40000);
            var sockets = new List<Socket>();
            try
            {
                for (var p = base_; p < base_ + 4; p++)
                {
                    var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                    sockets.Add(s);
                    s.Bind(new IPEndPoint(IPAddress.Loopback, p));
                }
                return base_;
            }
            catch (SocketException)
            {
            }
            finally
            {
                foreach (var s in sockets) s.Dispose();
            }
        }
        throw new InvalidOperationException("no free loopback ports");
    }

    private static async Task ExecAsync(string connectionString, string sql) => await QueryAsync(connectionString, sql);

    private static async Task<string?> QueryAsync(string connectionString, string sql)
    {
        await using var c = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, c);
        return (await cmd.ExecuteScalarAsync())?.ToString();
    }
}
