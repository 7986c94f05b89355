using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using CohortGrains.Host.Observability;
using CohortGrains.Host.Tests.Infrastructure;
using CohortGrains.Runtime.Channels;
using CohortGrains.Runtime.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace CohortGrains.Host.Tests.Observability;

/// <summary>GET /metrics on the real host after real traffic: valid for promtool, and saying what happened.</summary>
public sealed partial class MetricsEndpointTests : IDisposable
{
    private readonly TestHost _host = new();

    public void Dispose() => _host.Dispose();

    private async Task<string> ScrapeAsync(HttpClient? client = null)
    {
        var response = await (client ?? _host.Operator()).GetAsync("/metrics");
        await Http.ExpectAsync(response, 200);
        Assert.Equal(PrometheusExporter.ContentType, response.Content.Headers.ContentType?.ToString());
        return await response.Content.ReadAsStringAsync();
    }

    /// <summary>Drives one client from session to a stuck reply: turns of every trigger, a timer lag, a send, an escalation.</summary>
    private async Task<(Org Org, string ClientId)> TrafficAsync()
    {
        var org = await Org.CreateAsync(_host);
        var clientId = await org.EnrolAsync("Ava Brooks");
        _host.Clock.SetUtcNow(new DateTimeOffset(2026, 3, 3, 15, 30, 0, TimeSpan.Zero));
        await org.LogSessionAsync(clientId, "Make two prospecting calls");
        await _host.AdvanceAsync(TimeSpan.FromDays(2)); // the Day-2 nudge goes out by SMS
        await org.Api.PostJsonAsync($"/api/v1/clients/{clientId}/replies", new { text = "2 stuck on pricing", channel = "sms" }, 200);
        await _host.PumpAsync(); // the coach's grain gets the alert, the client the slot offer
        Assert.Equal(404, (int)(await org.Api.GetAsync("/api/v1/clients/cli_doesnotexist")).StatusCode);
        return (org, clientId);
    }

    [Fact]
    public async Task AScrapeAfterTrafficPassesPromtoolCheckMetrics()
    {
        await TrafficAsync();
        var text = await ScrapeAsync();

        var check = await Promtool.RunAsync(text, "check", "metrics");

        Assert.True(check.ExitCode == 0 && check.Output.Length == 0,
            $"promtool check metrics exited {check.ExitCode}:\n{check.Output}\n--- scrape ---\n{text}");
    }

    [Fact]
    public async Task TheScrapeCountsTurnsSendsEscalationsAndRequestsByRouteTemplate()
    {
        var (_, clientId) = await TrafficAsync();
        var samples = Samples(await ScrapeAsync());

        Assert.True(samples["cohortgrains_turns_total{grain_type=\"ClientLoop\",trigger=\"reminder\"}"] >= 1);
        Assert.True(samples["cohortgrains_turns_total{grain_type=\"ClientLoop\",trigger=\"command\"}"] >= 3); // enrol, session, reply
        Assert.True(samples["cohortgrains_turns_total{grain_type=\"Coach\",trigger=\"message\"}"] >= 1);
        Assert.Equal(1, samples["cohortgrains_escalations_total{reason=\"stuck\"}"]);
        Assert.True(samples["cohortgrains_outbox_sends_total{channel=\"sms\",result=\"sent\"}"] >= 1);
        Assert.Equal(samples["cohortgrains_timer_lag_seconds_count"], samples["cohortgrains_timer_lag_seconds_bucket{le=\"+Inf\"}"]);
        Assert.True(samples["cohortgrains_timer_lag_seconds_count"] >= 2);
        Assert.True(samples["cohortgrains_turn_duration_seconds_count{grain_type=\"ClientLoop\",trigger=\"reminder\"}"] >= 1);
        Assert.Equal(1, samples["cohortgrains_http_requests_total{method=\"POST\",route=\"/api/v1/clients/{clientId}/replies\",status=\"200\"}"]);
        Assert.Equal(1, samples["cohortgrains_http_requests_total{method=\"GET\",route=\"/api/v1/clients/{clientId}\",status=\"404\"}"]);
        Assert.Equal(1, samples["cohortgrains_http_request_duration_seconds_count{method=\"POST\",route=\"/api/v1/clients/{clientId}/replies\"}"]);
        Assert.Equal(1, samples["cohortgrains_store_up"]);
        Assert.Equal(0, samples["cohortgrains_node_draining"]);
        Assert.Single(samples, s => s.Key.StartsWith("cohortgrains_node_info{node=\"", StringComparison.Ordinal) && s.Value == 1);
        // Route templates, never raw paths: no id ever becomes a label value.
        Assert.DoesNotContain(samples.Keys, k => k.Contains(clientId, StringComparison.Ordinal));
    }

    [Fact]
    public async Task BacklogGaugesFollowTheStoreWhenNotCached()
    {
        _host.Settings["Metrics:StoreCacheDuration"] = "00:00:00";
        _host.ServiceOverrides.Add(services =>
        {
            // SMS fails transiently: the touch stays pending in the outbox, waiting for its retry.
            services.RemoveAll<IChannel>();
            services.AddSingleton<IChannel>(new FaultyChannel("sms"));
            services.AddSingleton<IChannel>(new CohortGrains.Channels.RecordingChannel("email"));
            services.AddSingleton<IChannel>(new CohortGrains.Channels.RecordingChannel("inapp"));
        });
        var org = await Org.CreateAsync(_host);
        var clientId = await org.EnrolAsync();
        // Activating the cohort tells its coach's grain (a durable message, due at once: the coach's digest follows its
        // cohorts' schedules). A node delivers it within moments; here that is a pump, before the clock moves on.
        Assert.Equal(1, Samples(await ScrapeAsync())["cohortgrains_timers_due"]);
        await _host.PumpAsync();
        _host.Clock.SetUtcNow(new DateTimeOffset(2026, 3, 3, 15, 30, 0, TimeSpan.Zero));
        await org.LogSessionAsync(clientId, "Make two prospecting calls");

        var before = Samples(await ScrapeAsync());
        var backlog = await _host.Store.GetTimerBacklogAsync(_host.Clock.GetUtcNow(), default);
        Assert.True(backlog.Total > 0);
        Assert.Equal((backlog.Total, 0), (before["cohortgrains_timers_scheduled"], before["cohortgrains_timers_due"]));
        Assert.Equal(0, before["cohortgrains_outbox_pending{channel=\"sms\"}"]);

        // Day 2, 09:00 New York, passes without a worker: the nudge's timer is due and waiting ten minutes.
        _host.Clock.SetUtcNow(new DateTimeOffset(2026, 3, 5, 14, 10, 0, TimeSpan.Zero));
        var waiting = Samples(await ScrapeAsync());
        Assert.Equal(1, waiting["cohortgrains_timers_due"]);
        Assert.Equal(600, waiting["cohortgrains_timers_oldest_due_age_seconds"]);

        await _host.PumpAsync();
        var after = Samples(await ScrapeAsync());
        Assert.Equal(0, after["cohortgrains_timers_due"]);
        Assert.Equal(1, after["cohortgrains_outbox_pending{channel=\"sms\"}"]);
        Assert.Equal(0, after["cohortgrains_outbox_due{channel=\"sms\"}"]); // waiting for its retry, not due
        Assert.Equal(0, after["cohortgrains_outbox_pending{channel=\"email\"}"]);
        Assert.Equal(1, after["cohortgrains_outbox_sends_total{channel=\"sms\",result=\"retry\"}"]);
    }

    [Fact]
    public async Task TheStoreIsAskedAtMostOncePerCacheWindowAndAnOutageShowsAsStoreDown()
    {
        _host.Settings["Metrics:StoreCacheDuration"] = "01:00:00";
        StoreSpy.Install(_host);
        await ScrapeAsync();
        await ScrapeAsync();
        await ScrapeAsync();
        var spy = StoreSpy.Of(_host);
        Assert.Equal(1, spy.CallsTo(nameof(IGrainStore.GetTimerBacklogAsync)));
        Assert.Equal(1, spy.CallsTo(nameof(IGrainStore.GetOutboxBacklogAsync)));

        using var outage = new TestHost();
        outage.Settings["Metrics:StoreCacheDuration"] = "00:00:00";
        StoreSpy.Install(outage);
        _ = outage.Store;
        StoreSpy.Of(outage).Failing[nameof(IGrainStore.GetTimerBacklogAsync)] = true;
        var response = await outage.Operator().GetAsync("/metrics");
        await Http.ExpectAsync(response, 200);
        var samples = Samples(await response.Content.ReadAsStringAsync());
        Assert.Equal(0, samples["cohortgrains_store_up"]);
        Assert.DoesNotContain("cohortgrains_timers_due", samples.Keys);
        Assert.Contains(samples.Keys, k => k.StartsWith("cohortgrains_node_info", StringComparison.Ordinal));
    }

    [Fact]
    public async Task MetricsNeedTheOperatorKeyOrTheScrapeKey()
    {
        const string scrapeKey = "scrape-key-for-prometheus-0123456789";
        _host.Settings["Metrics:ScrapeKey"] = scrapeKey;
        var org = await Org.CreateAsync(_host);

        var anonymous = await _host.CreateClient().GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal("Bearer", anonymous.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Equal("application/problem+json", anonymous.Content.Headers.ContentType?.MediaType);
        // An org's own key sees its org, not the cluster's figures.
        Assert.Equal(HttpStatusCode.Unauthorized, (await org.Api.GetAsync("/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await _host.ClientWithKey(scrapeKey + "x").GetAsync("/metrics")).StatusCode);

        await ScrapeAsync(_host.ClientWithKey(scrapeKey));
        await ScrapeAsync(_host.Operator());
        // The scrape key opens /metrics and nothing else.
        Assert.Equal(HttpStatusCode.Unauthorized, (await _host.ClientWithKey(scrapeKey).GetAsync("/api/v1/org")).StatusCode);
        var createOrg = await _host.ClientWithKey(scrapeKey).PostAsync("/api/v1/orgs", Http.RawJson("""{"name":"x"}"""));
        Assert.Equal(HttpStatusCode.Unauthorized, createOrg.StatusCode);
    }

    [Fact]
    public async Task MetricsCanBeOpenedToAnonymousScrapes()
    {
        _host.Settings["Metrics:AllowAnonymous"] = "true";
        var client = _host.CreateClient();
        client.DefaultRequestHeaders.Authorization = null;
        await ScrapeAsync(client);
    }

    /// <summary>"name{labels} value" lines → value by "name{labels}" (histogram buckets included).</summary>
    public static Dictionary<string, double> Samples(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(l => !l.StartsWith('#'))
            .Select(l => SampleLine().Match(l))
            .Where(m => m.Success)
            .ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value == "+Inf" ? double.PositiveInfinity : double.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture));

    [GeneratedRegex(@"^(\S+(?:\{.*\})?) (\S+)$")]
    private static partial Regex SampleLine();
}

/// <summary>A provider that is always busy (429): every send is a transient fault, retried later.</summary>
public sealed class FaultyChannel(string name, Func<ClaimedOutbox, SendOutcome>? outcome = null) : IChannel
{
    public string Name => name;

    public Task<SendOutcome> SendAsync(ClaimedOutbox message, CancellationToken ct) =>
        Task.FromResult(outcome?.Invoke(message) ?? new SendOutcome.Transient("429 Too Many Requests", TimeSpan.FromMinutes(5)));
}
