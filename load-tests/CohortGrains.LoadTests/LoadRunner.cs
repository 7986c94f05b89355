using System.Diagnostics;
using System.Globalization;
using CohortGrains.Client;

namespace CohortGrains.LoadTests;

/// <summary>Runs one scenario end to end: fake SMS endpoint, cluster up, scenario, cluster down, results written.</summary>
public static class LoadRunner
{
    /// <summary>The commit the run measured, "-dirty" if tracked files had changes: a figure means little without its code.</summary>
    public static string Commit(string repo)
    {
        try
        {
            using var git = Process.Start(new ProcessStartInfo("git", ["-C", repo, "describe", "--always", "--dirty", "--abbrev=7"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            })!;
            var described = git.StandardOutput.ReadToEnd().Trim();
            git.WaitForExit();
            return git.ExitCode == 0 && described.Length > 0 ? described : "unknown (not a git checkout)";
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "unknown (git is not installed)";
        }
    }

    public static async Task<ScenarioResult> RunAsync(LoadOptions o, CancellationToken ct)
    {
        var r = new ScenarioResult { Scenario = o.Scenario, Machine = ScenarioResult.DescribeMachine() };
        r.Parameters["nodes"] = o.Nodes;
        r.Parameters["concurrency"] = o.Concurrency;
        r.Parameters["short"] = o.Short;
        r.Parameters["commit"] = Commit(o.Cluster.RepoRoot);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(o.Deadline);
        var token = deadline.Token;
        var live = new Live(o.Quiet);
        var cluster = new LocalCluster(o.Cluster);
        await using var sms = await FakeSms.StartAsync(token);
        using var run = new RunContext(o, cluster, live);
        var env = new Dictionary<string, string>(sms.NodeEnvironment())
        {
            // Token buckets would measure the limiter, not the cluster (README Configuration).
            ["RateLimiting__Enabled"] = "false",
            // Information logs per request cost CPU the nodes need for turns; warnings and errors still show.
            ["Logging__LogLevel__Default"] = "Warning",
            // The sampler scrapes every node every second, 15 times as often as deploy/prometheus does, and a scrape
            // refreshes the cluster-wide backlog gauges: counts over the queues, long ones in a storm (0.1-0.2 s each).
            // Cached for Prometheus' scrape interval, monitoring costs the database what it would in production.
            ["Metrics__StoreCacheDuration"] = "00:00:15",
        };
        Sampler? sampler = null;
        try
        {
            await live.RunAsync($"start PostgreSQL and {o.Nodes} node(s)", 1, p => cluster.StartAsync(o.Nodes, env, token));
            r.Machine["postgres"] = await run.DescribePostgresAsync(token);
            sampler = Sampler.Start(run, token);
            switch (o.Scenario)
            {
                case "launch": await Scenarios.LaunchAsync(run, r, token); break;
                case "storm": await Scenarios.StormAsync(run, r, sms, token); break;
                case "replies": await Scenarios.RepliesAsync(run, r, token); break;
                case "soak": await Scenarios.SoakAsync(run, r, sampler, token); break;
            }
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            r.Error = $"deadline of {o.Deadline.TotalSeconds:0} s reached";
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            r.Error = e.GetType().Name + ": " + e.Message;
        }
        finally
        {
            if (sampler is not null)
            {
                await sampler.StopAsync();
                if (r.Series.Count == 0) r.Series.AddRange(sampler.Samples);
            }
            r.Machine["loadAverageAtEnd"] = ScenarioResult.LoadAverage();
            // Stop even when the scenario failed or the deadline passed: nothing keeps running after the run.
            using var stopBudget = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            try
            {
                await live.RunAsync("drain and stop the cluster", 1, _ => cluster.StopAsync(stopBudget.Token));
            }
            catch (Exception e) when (e is InvalidOperationException or OperationCanceledException)
            {
                r.Notes.Add("stopping the cluster failed: " + e.Message);
            }
        }
        r.FinishedAt = DateTimeOffset.UtcNow;
        Report.Write(r, o.ResultsDirectory);
        return r;
    }
}

/// <summary>
/// Samples the cluster every second for the chart: committed turns/s summed over the nodes' counters, the oldest due
/// timer's lag (the nodes' cluster-wide gauge), node RSS and the database size.
/// </summary>
public sealed class Sampler
{
    private readonly List<Sample> _samples = [];
    private Task _loop = Task.CompletedTask;
    private readonly CancellationTokenSource _stop = new();

    public IReadOnlyList<Sample> Samples { get { lock (_samples) return _samples.ToList(); } }

    public static Sampler Start(RunContext run, CancellationToken ct)
    {
        var s = new Sampler { _run = run };
        var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, s._stop.Token);
        s._loop = Task.Run(() => s.LoopAsync(linked.Token), CancellationToken.None);
        return s;
    }

    private readonly Stopwatch _watch = Stopwatch.StartNew();
    private double? _lastTurns, _lastT;
    private RunContext? _run;

    /// <summary>How fast the nodes' clock runs (the soak's week): their lag is in program seconds, the chart in real ones.</summary>
    public double ClockSpeed { get; set; } = 1;

    private async Task LoopAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await SampleAsync(ct);
            }
            catch (Exception) when (!ct.IsCancellationRequested)
            {
                // A missed sample is a gap in the chart, not a failed run (nodes may be restarting).
            }
            try { await Task.Delay(1000, ct); } catch (OperationCanceledException) { break; }
        }
    }

    private async Task SampleAsync(CancellationToken ct)
    {
        var run = _run!;
        var key = run.Cluster.OperatorKey;
        var t = _watch.Elapsed.TotalSeconds;
        // One scrape per node: the backlog gauges are read from the store at most once per Metrics:StoreCacheDuration,
        // where GET /api/v1/cluster would query it on every sample and load the database the run measures.
        var scrape = await run.ScrapeAsync(key, ct);
        var turns = RunContext.Sum(scrape, "cohortgrains_turns_total");
        var lag = scrape.Where(l => l.Name == "cohortgrains_timers_oldest_due_age_seconds").Select(l => l.Value).DefaultIfEmpty(0).Max() / ClockSpeed;
        var rss = run.Cluster.NodePids().Sum(RunContext.RssMb);
        var db = await run.ScalarAsync("SELECT pg_database_size(current_database())", ct) / 1024.0 / 1024.0;
        // The first sample has no interval yet: it counts zero turns/s (a short run still gets a point on the chart).
        var rate = _lastTurns is { } lt && _lastT is { } ltt && t > ltt ? Math.Max(0, turns - lt) / (t - ltt) : 0;
        lock (_samples) _samples.Add(new Sample(Math.Round(t, 2), Math.Round(rate, 1), Math.Round(lag, 2), Math.Round(rss, 1), Math.Round(db, 1)));
        (_lastTurns, _lastT) = (turns, t);
    }

    /// <summary>Stops sampling after one last sample, so even a run of a few seconds has the end of its curve.</summary>
    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        try { await _loop; } catch (OperationCanceledException) { }
        if (_run is null) return;
        using var last = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await SampleAsync(last.Token);
        }
        catch (Exception)
        {
            // Best effort, as every sample: the cluster may already be failing, which the run reports elsewhere.
        }
    }
}
