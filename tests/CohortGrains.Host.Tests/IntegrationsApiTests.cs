using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using CohortGrains.Host.Tests.Infrastructure;
using CohortGrains.Runtime.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CohortGrains.Host.Tests;

/// <summary>A real HTTP server on loopback that records what it receives and answers with the statuses it is told to.</summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    public sealed record Received(string Path, IReadOnlyDictionary<string, string> Headers, string Body);

    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, ConcurrentQueue<int>> _answers = new();

    public ConcurrentQueue<Received> Requests { get; } = new();
    public string BaseUrl { get; private set; } = "";

    private WebhookReceiver()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        _app = builder.Build();
        _app.Run(async context =>
        {
            using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
            var body = await reader.ReadToEndAsync(context.RequestAborted);
            Requests.Enqueue(new Received(context.Request.Path, context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase), body));
            context.Response.StatusCode = _answers.TryGetValue(context.Request.Path, out var q) && q.TryDequeue(out var status) ? status
                : context.Request.Path == "/gone" ? 410 : 200;
        });
    }

    public static async Task<WebhookReceiver> StartAsync()
    {
        var receiver = new WebhookReceiver();
        await receiver._app.StartAsync();
        receiver.BaseUrl = receiver._app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return receiver;
    }

    /// <summary>The next requests to <paramref name="path"/> are answered with these statuses, in order; 200 after them.</summary>
    public void Answer(string path, params int[] statuses) => _answers[path] = new ConcurrentQueue<int>(statuses);

    public IReadOnlyList<Received> At(string path) => Requests.Where(r => r.Path == path).ToList();

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}

public sealed class OutboundWebhookTests : IAsyncLifetime
{
    private readonly TestHost _host = new();
    private WebhookReceiver _receiver = null!;

    public async Task InitializeAsync()
    {
        _host.Settings["Webhooks:AllowInsecureHttp"] = "true";
        _host.Settings["Webhooks:AllowPrivateNetworks"] = "true";
        _receiver = await WebhookReceiver.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _receiver.DisposeAsync();
        _host.Dispose();
    }

    private static string Sign(string secret, string timestamp, string body) =>
        "v1=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(timestamp + "." + body)));

    private async Task<(string Id, string Secret)> AddEndpointAsync(Org org, string path, params string[] events)
    {
        var created = await org.Api.PostJsonAsync("/api/v1/webhooks/endpoints", new { url = _receiver.BaseUrl + path, events }, 201);
        return (created["endpointId"]!.GetValue<string>(), created["secret"]!.GetValue<string>());
    }

    private async Task<JsonArray> LogAsync(Org org, string endpointId) =>
        (await org.Api.GetJsonAsync($"/api/v1/webhooks/endpoints/{endpointId}/deliveries"))["deliveries"]!.AsArray();

    [Fact]
    public async Task EventsAreSignedRetriedWithBackoffAndLoggedPerEndpoint()
    {
        var org = await Org.CreateAsync(_host);
        var (crm, secret) = await AddEndpointAsync(org, "/hooks", "client.stuck", "checkin.replied");
        var (gone, _) = await AddEndpointAsync(org, "/gone", "action.completed");
        var clientId = await org.EnrolAsync();
        _host.Clock.SetUtcNow(Arc.FirstSession);
        await org.LogSessionAsync(clientId, "Make two prospecting calls");
        await _host.PumpAsync();
        _receiver.Answer("/hooks", 500);

        await org.Api.PostJsonAsync($"/api/v1/clients/{clientId}/replies", new { text = "2 stuck on pricing", channel = "sms" }, 200);
        await _host.PumpAsync();

        // Both events went out at once; the receiver failed the first one it saw.
        Assert.Equal(2, _receiver.At("/hooks").Count);
        var log = await LogAsync(org, crm);
        Assert.Equal(["pending", "sent"], log.Select(d => d!["status"]!.GetValue<string>()).Order());
        var failed = log.Single(d => d!["status"]!.GetValue<string>() == "pending")!;
        Assert.Equal(("HTTP 500", 1), (failed["lastError"]!.GetValue<string>(), failed["attempts"]!.GetValue<int>()));

        // The retry waits for its backoff (10 s base, with jitter), then succeeds.
        await _host.AdvanceAsync(TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(1));
        Assert.Equal(2, _receiver.At("/hooks").Count);
        await _host.AdvanceAsync(TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(1));
        Assert.Equal(3, _receiver.At("/hooks").Count);
        log = await LogAsync(org, crm);
        Assert.All(log, d => Assert.Equal(("sent", "200"), (d!["status"]!.GetValue<string>(), d["httpStatus"]!.GetValue<string>())));
        Assert.Equal([1, 2], log.Select(d => d!["attempts"]!.GetValue<int>()).Order());

        var received = _receiver.At("/hooks");
        foreach (var r in received)
        {
            // What a receiver does: recompute the signature from its secret, the timestamp header and the raw body.
            Assert.Equal(Sign(secret, r.Headers["X-CohortGrains-Timestamp"], r.Body), r.Headers["X-CohortGrains-Signature"]);
            var at = DateTimeOffset.FromUnixTimeSeconds(long.Parse(r.Headers["X-CohortGrains-Timestamp"], CultureInfo.InvariantCulture));
            Assert.InRange(at, Arc.FirstSession, _host.Clock.GetUtcNow());
            Assert.Equal("application/json; charset=utf-8", r.Headers["Content-Type"]);
        }
        var payloads = received.Select(r => JsonNode.Parse(r.Body)!).ToList();
        Assert.Equal(["checkin.replied", "client.stuck"], payloads.Select(p => p["type"]!.GetValue<string>()).Distinct().Order());
        Assert.All(payloads, p => Assert.Equal(clientId, p["data"]!["clientId"]!.GetValue<string>()));
        // The retried delivery carries the same event id: receivers deduplicate on it.
        Assert.Equal(2, payloads.Select(p => p["id"]!.GetValue<string>()).Distinct().Count());
        var stuck = payloads.First(p => p["type"]!.GetValue<string>() == "client.stuck");
        Assert.Equal($"{clientId}.client.stuck.e1", stuck["id"]!.GetValue<string>());
        Assert.Equal(("stuck", "e1"), (stuck["data"]!["status"]!.GetValue<string>(), stuck["data"]!["escalationId"]!.GetValue<string>()));
        Assert.Contains(log, d => d!["eventId"]!.GetValue<string>() == $"{clientId}.client.stuck.e1" && d["eventType"]!.GetValue<string>() == "client.stuck");

        // action.completed goes only to the endpoint that asked for it; 410 Gone is final, not retried.
        await org.Api.PostJsonAsync($"/api/v1/clients/{clientId}/actions/s1-a1/complete", new { }, 200);
        await _host.PumpAsync();
        await _host.AdvanceAsync(TimeSpan.FromHours(2), TimeSpan.FromMinutes(5));
        Assert.Single(_receiver.At("/gone"));
        Assert.Equal(3, _receiver.At("/hooks").Count);
        var goneLog = Assert.Single(await LogAsync(org, gone))!;
        Assert.Equal(("failed", "410", 1), (goneLog["status"]!.GetValue<string>(), goneLog["httpStatus"]!.GetValue<string>(), goneLog["attempts"]!.GetValue<int>()));

        // A removed endpoint hears nothing more.
        var removed = await org.Api.DeleteAsync($"/api/v1/webhooks/endpoints/{crm}");
        await Http.ExpectAsync(removed, 200);
        Assert.Equal(crm, (await removed.ReadJsonAsync())["endpointId"]!.GetValue<string>());
        await org.Api.PostJsonAsync($"/api/v1/clients/{clientId}/replies", new { rating = 4, channel = "sms" }, 200);
        await _host.PumpAsync();
        Assert.Equal(3, _receiver.At("/hooks").Count);
        await Arc.ProblemAsync(await org.Api.GetAsync($"/api/v1/webhooks/endpoints/{crm}/deliveries"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task AnEventNoEndpointSubscribesToNeverReachesTheOrgsIntegrationsGrain()
    {
        var org = await Org.CreateAsync(_host);
        await AddEndpointAsync(org, "/done", "action.completed");
        var clientId = await org.EnrolAsync();
        _host.Clock.SetUtcNow(Arc.FirstSession);
        await org.LogSessionAsync(clientId, "Make two prospecting calls");
        await _host.PumpAsync();
        var integrations = new GrainId(org.OrgId, "Integrations", org.OrgId);
        var version = (await _host.Store.LoadAsync(integrations, default))!.Version;

        // checkin.replied and client.stuck: nobody asked, so the (per-org, busy) grain takes no turn for them.
        await org.Api.PostJsonAsync($"/api/v1/clients/{clientId}/replies", new { text = "2 stuck on pricing", channel = "sms" }, 200);
        await _host.PumpAsync();
        Assert.Equal(version, (await _host.Store.LoadAsync(integrations, default))!.Version);

        await org.Api.PostJsonAsync($"/api/v1/clients/{clientId}/actions/s1-a1/complete", new { }, 200);
        await _host.PumpAsync();
        Assert.Equal(version + 1, (await _host.Store.LoadAsync(integrations, default))!.Version);
        Assert.Single(_receiver.At("/done"));
    }

    public static TheoryData<string, string> BadEndpoints => new()
    {
        { """{"events":["client.stuck"]}""", "url" },
        { """{"url":"ftp://crm.example.com/x","events":["client.stuck"]}""", "url" },
        { """{"url":"not a url","events":["client.stuck"]}""", "url" },
        { """{"url":"https://user:pw@crm.example.com/x","events":["client.stuck"]}""", "url" },
        { """{"url":"https://crm.example.com/x"}""", "events" },
        { """{"url":"https://crm.example.com/x","events":[]}""", "events" },
        { """{"url":"https://crm.example.com/x","events":["client.sneezed"]}""", "events[0]" },
    };

    [Theory]
    [MemberData(nameof(BadEndpoints))]
    public async Task BadEndpointsAreA400NamingTheField(string body, string field)
    {
        var org = await Org.CreateAsync(_host);

        await Arc.ExpectFieldErrorAsync(await org.Api.PostAsync("/api/v1/webhooks/endpoints", Http.RawJson(body)), field);
        Assert.Empty((await org.Api.GetJsonAsync("/api/v1/webhooks/endpoints")).AsArray());
    }
}

public sealed class WebhookAddressPolicyTests : IAsyncLifetime
{
    private readonly TestHost _host = new();
    private WebhookReceiver _receiver = null!;

    public async Task InitializeAsync()
    {
        // http allowed (to reach the local receiver) but private networks not: as production would treat "localhost".
        _host.Settings["Webhooks:AllowInsecureHttp"] = "true";
        _receiver = await WebhookReceiver.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _receiver.DisposeAsync();
        _host.Dispose();
    }

    [Fact]
    public async Task AnEndpointOnALoopbackOrPrivateAddressIsNeverCalled()
    {
        var org = await Org.CreateAsync(_host);
        await Arc.ExpectFieldErrorAsync(await org.Api.PostAsJsonAsync("/api/v1/webhooks/endpoints", new { url = "http://169.254.169.254/latest", events = new[] { "client.stuck" } }), "url");
        // A name that resolves to loopback passes registration; the connection itself is refused, once and for all.
        var url = _receiver.BaseUrl.Replace("127.0.0.1", "localhost") + "/hooks";
        var created = await org.Api.PostJsonAsync("/api/v1/webhooks/endpoints", new { url, events = new[] { "checkin.replied" } }, 201);
        var clientId = await org.EnrolAsync();
        _host.Clock.SetUtcNow(Arc.FirstSession);
        await org.LogSessionAsync(clientId, "Make two prospecting calls");

        await org.Api.PostJsonAsync($"/api/v1/clients/{clientId}/replies", new { rating = 4, channel = "sms" }, 200);
        await _host.PumpAsync();

        Assert.Empty(_receiver.Requests);
        var delivery = Assert.Single((await org.Api.GetJsonAsync($"/api/v1/webhooks/endpoints/{created["endpointId"]}/deliveries"))["deliveries"]!.AsArray())!;
        Assert.Equal(("failed", "blocked_address"), (delivery["status"]!.GetValue<string>(), delivery["httpStatus"]!.GetValue<string>()));
    }
}

public sealed class InboundSessionCompletedTests : IDisposable
{
    private readonly TestHost _host = new();

    public void Dispose() => _host.Dispose();

    private const string Path = "/api/v1/events/session-completed";

    private static string Sign(string secret, long timestamp, string body) =>
        "v1=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes($"{timestamp}.{body}")));

    private async Task<HttpResponseMessage> PostAsync(string orgId, string secret, string body, long? timestamp = null, string? signature = null)
    {
        var ts = timestamp ?? _host.Clock.GetUtcNow().ToUnixTimeSeconds();
        var request = new HttpRequestMessage(HttpMethod.Post, Path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("X-CohortGrains-Org", orgId);
        request.Headers.Add("X-CohortGrains-Timestamp", ts.ToString(CultureInfo.InvariantCulture));
        request.Headers.Add("X-CohortGrains-Signature", signature ?? Sign(secret, ts, body));
        return await _host.ClientWithKey(null).SendAsync(request);
    }

    private static string Event(string id, string clientId) => $$$"""
        {"id":"{{{id}}}","clientId":"{{{clientId}}}","actionItems":[{"what":"Make two prospecting calls","byWhen":"2026-03-06"}],
         "note":{"focus":"Pipeline","insight":"Avoids asking","agreedAction":"Two calls","obstacle":"Busy","followUp":"How it went"}}
        """;

    [Fact]
    public async Task ASignedEventStartsTheLoopLikeLoggingTheSessionAndARedeliveryChangesNothing()
    {
        var org = await Org.CreateAsync(_host);
        var secret = (await org.Api.PostJsonAsync("/api/v1/integrations/inbound-secret", new { }, 201))["secret"]!.GetValue<string>();
        var clientId = await org.EnrolAsync();
        _host.Clock.SetUtcNow(Arc.FirstSession);
        var body = Event("evt_8f2", clientId);

        var first = await PostAsync(org.OrgId, secret, body);
        await Http.ExpectAsync(first, 201);
        var again = await PostAsync(org.OrgId, secret, body);
        await Http.ExpectAsync(again, 200);

        Assert.True((await again.ReadJsonAsync())["duplicate"]!.GetValue<bool>());
        var client = await org.Api.GetJsonAsync($"/api/v1/clients/{clientId}");
        var session = Assert.Single(client["sessions"]!.AsArray())!;
        Assert.Equal(new DateTimeOffset(2026, 3, 10, 14, 0, 0, TimeSpan.Zero), session["nextSessionAt"]!.GetValue<DateTimeOffset>());
        // The cadence runs exactly as after a session the coach logged: the Day-2 nudge on Thursday 09:00 New York.
        await _host.AdvanceAsync(new DateTimeOffset(2026, 3, 5, 14, 15, 0, TimeSpan.Zero) - _host.Clock.GetUtcNow());
        var nudge = Assert.Single((await org.Api.GetJsonAsync($"/api/v1/touches?clientId={clientId}"))["touches"]!.AsArray())!;
        Assert.Equal(("day2", new DateTimeOffset(2026, 3, 5, 14, 0, 0, TimeSpan.Zero)), (nudge["template"]!.GetValue<string>(), nudge["createdAt"]!.GetValue<DateTimeOffset>()));

        // A different event is a different session.
        _host.Clock.SetUtcNow(new DateTimeOffset(2026, 3, 10, 14, 30, 0, TimeSpan.Zero));
        await Http.ExpectAsync(await PostAsync(org.OrgId, secret, Event("evt_9a1", clientId)), 201);
        Assert.Equal(2, (await org.Api.GetJsonAsync($"/api/v1/clients/{clientId}"))["sessions"]!.AsArray().Count);
    }

    [Fact]
    public async Task UnsignedStaleOrForgedEventsAre401AndChangeNothing()
    {
        var org = await Org.CreateAsync(_host);
        var secret = (await org.Api.PostJsonAsync("/api/v1/integrations/inbound-secret", new { }, 201))["secret"]!.GetValue<string>();
        var clientId = await org.EnrolAsync();
        _host.Clock.SetUtcNow(Arc.FirstSession);
        var body = Event("evt_1", clientId);
        var now = _host.Clock.GetUtcNow().ToUnixTimeSeconds();
        var other = await Org.CreateAsync(_host);
        var otherSecret = (await other.Api.PostJsonAsync("/api/v1/integrations/inbound-secret", new { }, 201))["secret"]!.GetValue<string>();

        await Arc.ProblemAsync(await PostAsync(org.OrgId, secret, body, signature: "v1=00"), HttpStatusCode.Unauthorized);
        await Arc.ProblemAsync(await PostAsync(org.OrgId, secret, body, timestamp: now - 600), HttpStatusCode.Unauthorized);
        await Arc.ProblemAsync(await PostAsync(org.OrgId, secret, body, timestamp: now + 600), HttpStatusCode.Unauthorized);
        await Arc.ProblemAsync(await PostAsync(org.OrgId, otherSecret, body), HttpStatusCode.Unauthorized); // another org's secret
        await Arc.ProblemAsync(await PostAsync("org_unknown", secret, body), HttpStatusCode.Unauthorized);
        await Arc.ProblemAsync(await _host.ClientWithKey(null).PostAsync(Path, Http.RawJson(body)), HttpStatusCode.Unauthorized);
        // Signed, then altered on the way: the body no longer matches its signature.
        await Arc.ProblemAsync(await PostAsync(org.OrgId, secret, body.Replace("Two calls", "Ten calls"), signature: Sign(secret, now, body)), HttpStatusCode.Unauthorized);
        // Rotating the secret retires the old one.
        await org.Api.PostJsonAsync("/api/v1/integrations/inbound-secret", new { }, 201);
        await Arc.ProblemAsync(await PostAsync(org.OrgId, secret, body), HttpStatusCode.Unauthorized);

        Assert.Empty((await org.Api.GetJsonAsync($"/api/v1/clients/{clientId}"))["sessions"]!.AsArray());
    }

    [Fact]
    public async Task AnUnsignedEventIsA401WhateverItsBodySaysSoNothingIsLearnedFromIt()
    {
        var org = await Org.CreateAsync(_host);
        var secret = (await org.Api.PostJsonAsync("/api/v1/integrations/inbound-secret", new { }, 201))["secret"]!.GetValue<string>();
        var clientId = await org.EnrolAsync();
        var other = await Org.CreateAsync(_host);
        var othersClient = await other.EnrolAsync("Olga Other", "+14155550177");
        _host.Clock.SetUtcNow(Arc.FirstSession);

        // Each of these would be a 400 or a 404 with the right signature: without it, the answer never says which.
        foreach (var body in new[] { "{not json", Event("", clientId), Event("e1", "cli_unknown"), Event("e1", othersClient), new string('x', 70 * 1024) })
        {
            var problem = await Arc.ProblemAsync(await PostAsync(org.OrgId, "not-the-secret", body), HttpStatusCode.Unauthorized);
            Assert.Equal("the signature does not match", problem["detail"]!.GetValue<string>());
        }
        // Only a signed body over the event limit is told it is too large.
        await Arc.ProblemAsync(await PostAsync(org.OrgId, secret, new string('x', 70 * 1024)), HttpStatusCode.RequestEntityTooLarge);
        Assert.Empty((await org.Api.GetJsonAsync($"/api/v1/clients/{clientId}"))["sessions"]!.AsArray());
    }

    [Fact]
    public async Task ASignedButInvalidEventIsA400NamingTheField()
    {
        var org = await Org.CreateAsync(_host);
        var secret = (await org.Api.PostJsonAsync("/api/v1/integrations/inbound-secret", new { }, 201))["secret"]!.GetValue<string>();
        var clientId = await org.EnrolAsync();
        _host.Clock.SetUtcNow(Arc.FirstSession);

        await Arc.ExpectFieldErrorAsync(await PostAsync(org.OrgId, secret, Event("", clientId)), "id");
        await Arc.ExpectFieldErrorAsync(await PostAsync(org.OrgId, secret, Event("has space", clientId)), "id");
        await Arc.ExpectFieldErrorAsync(await PostAsync(org.OrgId, secret, $$"""{"id":"e1","actionItems":[{"what":"x"}]}"""), "clientId");
        await Arc.ExpectFieldErrorAsync(await PostAsync(org.OrgId, secret, $$"""{"id":"e1","clientId":"{{clientId}}","actionItems":[]}"""), "actionItems");
        await Arc.ExpectFieldErrorAsync(await PostAsync(org.OrgId, secret, Event("e1", clientId).Replace("\"focus\":\"Pipeline\",", "")), "note.focus");
        await Arc.ProblemAsync(await PostAsync(org.OrgId, secret, "{not json"), HttpStatusCode.BadRequest);
        await Arc.ProblemAsync(await PostAsync(org.OrgId, secret, Event("e1", "cli_unknown")), HttpStatusCode.NotFound);
        Assert.Empty((await org.Api.GetJsonAsync($"/api/v1/clients/{clientId}"))["sessions"]!.AsArray());
        var integrations = await org.Api.GetJsonAsync("/api/v1/integrations");
        Assert.True(integrations["inboundSecretSet"]!.GetValue<bool>());
        Assert.DoesNotContain(secret, integrations.ToJsonString());
    }
}
