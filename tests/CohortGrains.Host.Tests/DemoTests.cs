using System.Text.Json.Nodes;
using CohortGrains.Host.Demo;
using CohortGrains.Host.Infrastructure;
using CohortGrains.Runtime.Storage;
using CohortGrains.Storage.Sqlite;

namespace CohortGrains.Host.Tests;

public sealed class DemoTests : IDisposable
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "cohortgrains-demo", Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(_data, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public async Task DemoRunsTwoWeeksAndItsSummaryMatchesTheStore()
    {
        var output = new StringWriter();
        var exit = await DemoCommand.RunAsync(["--data", _data], output);
        Assert.Equal(0, exit);
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var summary = JsonNode.Parse(lines.Single(l => l.StartsWith('{')))!;
        Assert.Contains(lines, l => l.StartsWith("Dashboard JSON: ") && File.Exists(l["Dashboard JSON: ".Length..]));

        // Read the figures back independently: the org behind the printed key, its clients' projections, its outbox.
        var key = lines.Single(l => l.StartsWith("Live:")).Split("Bearer ")[1].Split('\'')[0];
        using var store = new SqliteGrainStore(new SqliteStoreOptions { Path = Path.Combine(_data, "cohortgrains.db") });
        var orgId = (await store.FindApiKeyAsync(ApiKeys.Hash(key), default))!.OrgId;
        var stats = await store.GetCohortStatsAsync(orgId, null, DateTimeOffset.UtcNow, default);
        var outbox = await store.QueryOutboxAsync(new OutboxQuery(orgId) { Limit = 100_000 }, default);

        Assert.Equal(48, summary["clients"]!.GetValue<int>());
        Assert.Equal(stats.Sum(s => s.TouchesSent), summary["touchesSent"]!.GetValue<int>());
        Assert.Equal(outbox.Count, summary["touchesSent"]!.GetValue<int>());
        Assert.Equal(stats.Sum(s => s.Replies), summary["replies"]!.GetValue<int>());
        Assert.Equal(stats.Sum(s => s.Escalations), summary["escalations"]!.GetValue<int>());
        // The simulated cohorts hold on-track, stuck and silent clients: every figure is strictly between the extremes.
        Assert.InRange(summary["replies"]!.GetValue<int>(), 1, summary["touchesSent"]!.GetValue<int>() - 1);
        Assert.True(summary["escalations"]!.GetValue<int>() > 0);
        Assert.InRange(summary["stuckRate"]!.GetValue<double>(), 0.01, 0.99);
        Assert.InRange(summary["replyRate"]!.GetValue<double>(), 0.01, 0.99);
        // Nobody was nagged: at most the weekly cap of 4 touches per client per week on average.
        Assert.True(summary["touchesSent"]!.GetValue<int>() <= 48 * 2 * 4);
    }
}
