using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using CohortGrains.Host.Tests.Infrastructure;

namespace CohortGrains.Host.Tests.Observability;

/// <summary>deploy/prometheus and deploy/grafana: valid for promtool, alerts that fire when they should, and no query of a metric we do not export.</summary>
public sealed partial class DeployTests
{
    private static string Deploy(string path) => HttpFile.RepositoryFile(Path.Combine("deploy", path));

    private static async Task AssertPromtoolAsync(params string[] args)
    {
        var result = await Promtool.RunAsync(null, args);
        Assert.True(result.ExitCode == 0, $"promtool {string.Join(' ', args)} exited {result.ExitCode}:\n{result.Output}");
    }

    [Fact]
    public Task AlertRulesPassPromtoolCheckRules() => AssertPromtoolAsync("check", "rules", Deploy("prometheus/alerts.yml"));

    [Fact]
    public Task AlertsFireWhenTheyShouldAndNotOtherwise() => AssertPromtoolAsync("test", "rules", Deploy("prometheus/alerts.test.yml"));

    [Theory]
    [InlineData("prometheus.yml")]
    [InlineData("prometheus-compose.yml")]
    public async Task ScrapeConfigsPassPromtoolCheckConfig(string config)
    {
        // The scrape key is a secret, never committed: the check needs a file where the config points.
        var dir = Directory.CreateTempSubdirectory("cohortgrains-prometheus-");
        try
        {
            foreach (var file in Directory.GetFiles(Path.GetDirectoryName(Deploy("prometheus/alerts.yml"))!, "*.yml"))
                File.Copy(file, Path.Combine(dir.FullName, Path.GetFileName(file)));
            await File.WriteAllTextAsync(Path.Combine(dir.FullName, "scrape-key"), "a-scrape-key\n");
            await AssertPromtoolAsync("check", "config", Path.Combine(dir.FullName, config));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void TheDashboardHasThePanelsALaunchNeeds()
    {
        var dashboard = JsonNode.Parse(File.ReadAllText(Deploy("grafana/cohortgrains-dashboard.json")))!;
        var panels = dashboard["panels"]!.AsArray().Select(p => p!).ToList();
        var titles = panels.Select(p => p["title"]!.GetValue<string>()).ToList();

        foreach (var needed in new[] { "Turns/s", "Timer lag p99", "Due backlog", "Sends by status", "HTTP p99 by route" })
            Assert.Contains(needed, titles);
        Assert.All(panels, p => Assert.Contains(p["targets"]!.AsArray(), t => t!["expr"]!.GetValue<string>().Contains("cohortgrains_") || t["expr"]!.GetValue<string>().Contains("up{")));
        Assert.Equal(panels.Count, panels.Select(p => p["id"]!.GetValue<int>()).Distinct().Count());
    }

    [Fact]
    public async Task TheDashboardAndTheAlertsQueryOnlyMetricsTheHostExports()
    {
        using var host = new TestHost();
        var org = await Org.CreateAsync(host);
        await org.EnrolAsync();
        var scrape = await (await host.Operator().GetAsync("/metrics")).Content.ReadAsStringAsync();
        var families = TypeLine().Matches(scrape).Select(m => m.Groups[1].Value).ToHashSet();
        Assert.Contains("cohortgrains_turns_total", families);

        var queried = MetricName().Matches(File.ReadAllText(Deploy("grafana/cohortgrains-dashboard.json")) + File.ReadAllText(Deploy("prometheus/alerts.yml")))
            .Select(m => m.Value).Distinct().ToList();
        var unknown = queried.Where(name => !families.Contains(name) && !families.Contains(SeriesSuffix().Replace(name, ""))).ToList();

        Assert.True(queried.Count >= 10, $"only {queried.Count} metric names found in the dashboard and alerts");
        Assert.True(unknown.Count == 0, "queried but not exported: " + string.Join(", ", unknown));
    }

    [GeneratedRegex(@"^# TYPE (\S+) ", RegexOptions.Multiline)]
    private static partial Regex TypeLine();

    [GeneratedRegex(@"\bcohortgrains_[a-z_]+[a-z]")]
    private static partial Regex MetricName();

    [GeneratedRegex(@"_(bucket|sum|count)$")]
    private static partial Regex SeriesSuffix();
}
