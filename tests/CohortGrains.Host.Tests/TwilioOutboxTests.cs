using System.Net;
using CohortGrains.Channels.Tests.Fakes;
using CohortGrains.Domain.ClientLoops;
using CohortGrains.Host.Tests.Infrastructure;
using CohortGrains.Runtime.Storage;
using CohortGrains.Runtime.Workers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CohortGrains.Host.Tests;

/// <summary>
/// Touches leaving through Twilio's REST API (a local fake that checks what Twilio checks) on the fake clock:
/// provider ids and status callbacks, retries with Retry-After and backoff, permanent failures shown to the coach,
/// 21610 handled as an opt-out with an email fallback, a node dying mid-send, quiet hours at send time.
/// </summary>
public sealed class TwilioOutboxTests : IAsyncLifetime
{
    // Tuesday 3 March 2026, 10:30 in New York: the session is logged. The Day-2 nudge is Thursday 09:00 EST = 14:00Z.
    private static readonly DateTimeOffset SessionLogged = new(2026, 3, 3, 15, 30, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Day2 = new(2026, 3, 5, 14, 0, 0, TimeSpan.Zero);
    // Day 5 is Sunday 8 March, after the spring-forward: 09:00 EDT = 13:00Z.
    private static readonly DateTimeOffset Day5 = new(2026, 3, 8, 13, 0, 0, TimeSpan.Zero);

    private readonly TestHost _host = new();
    private FakeTwilio _twilio = null!;
    private LogCapture _logs = null!;

    public async Task InitializeAsync()
    {
        _twilio = await FakeTwilio.StartAsync();
        _host.UseTwilio(_twilio);
        _logs = _host.CaptureLogs();
    }

    public async Task DisposeAsync()
    {
        _host.Dispose();
        await _twilio.DisposeAsync();
    }

    private async Task<(Org Org, string ClientId)> SessionLoggedAsync(string phone = "+14155550101", int preferredHour = 9)
    {
        var org = await Org.CreateAsync(_host);
        var clientId = await org.EnrolAsync("Ava Brooks", phone, preferredHour);
        _host.Clock.SetUtcNow(SessionLogged);
        await org.LogSessionAsync(clientId, "Make two prospecting calls");
        return (org, clientId);
    }

    [Fact]
    public async Task TheNudgeGoesOutThroughTwilioAndStatusCallbacksTrackItsDelivery()
    {
        var (org, clientId) = await SessionLoggedAsync();

        await _host.AdvanceToAsync(Day2.AddMinutes(-1));
        Assert.Empty(_twilio.Calls);
        await _host.AdvanceToAsync(Day2.AddMinutes(1));

        var call = Assert.Single(_twilio.Calls);
        Assert.Empty(_twilio.Refusals);
        Assert.Equal("+14155550101", call.Form["To"]);
        Assert.Contains("make two prospecting calls", call.Form["Body"]);
        Assert.Equal("https://coach.example.com/webhooks/twilio/status", call.Form["StatusCallback"]);
        var touch = await org.TouchAsync(clientId, "s1-day2");
        Assert.Equal(("sent", call.Sid, "queued"), (touch["status"]!.GetValue<string>(), touch["providerMessageId"]!.GetValue<string>(), touch["providerStatus"]!.GetValue<string>()));

        var twilio = _host.CreateClient();
        var sent = await twilio.PostAsTwilioAsync("/webhooks/twilio/status", ChannelTestKit.Status(call.Sid!, "sent"));
        var delivered = await twilio.PostAsTwilioAsync("/webhooks/twilio/status", ChannelTestKit.Status(call.Sid!, "delivered"));

        Assert.Equal(HttpStatusCode.NoContent, sent.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, delivered.StatusCode);
        Assert.Equal("delivered", (await org.TouchAsync(clientId, "s1-day2"))["providerStatus"]!.GetValue<string>());
        var timeline = (await org.Api.GetJsonAsync($"/api/v1/clients/{clientId}/timeline")).AsArray();
        Assert.Equal("delivered", timeline.Single(e => e!["kind"]!.GetValue<string>() == "touch")!["deliveryStatus"]!.GetValue<string>());

        // A later carrier failure is recorded with its code.
        await twilio.PostAsTwilioAsync("/webhooks/twilio/status", ChannelTestKit.Status(call.Sid!, "undelivered", "30003"));
        touch = await org.TouchAsync(clientId, "s1-day2");
        Assert.Equal(("undelivered", "30003"), (touch["providerStatus"]!.GetValue<string>(), touch["errorCode"]!.GetValue<string>()));
    }

    [Fact]
    public async Task RateLimitedSendsWaitAsLongAsTwilioAsksThenGoOut()
    {
        var (org, clientId) = await SessionLoggedAsync();
        _twilio.Then(new FakeAnswer(429, RetryAfterSeconds: 600), new FakeAnswer(429, RetryAfterSeconds: 600));

        await _host.AdvanceToAsync(Day2.AddMinutes(1));
        Assert.Single(_twilio.Calls);
        var pending = await org.TouchAsync(clientId, "s1-day2");
        Assert.Equal("pending", pending["status"]!.GetValue<string>());
        Assert.Contains("20429", pending["error"]!.GetValue<string>());

        // Retry-After (10 minutes) wins over our first backoff step (5–10 seconds).
        await _host.AdvanceToAsync(Day2.AddMinutes(9));
        Assert.Single(_twilio.Calls);
        await _host.AdvanceToAsync(Day2.AddMinutes(12));
        Assert.Equal(2, _twilio.Calls.Count);
        await _host.AdvanceToAsync(Day2.AddMinutes(25));

        Assert.Equal([429, 429, 201], _twilio.Calls.Select(c => c.Status));
        var touch = await org.TouchAsync(clientId, "s1-day2");
        Assert.Equal(("sent", 3), (touch["status"]!.GetValue<string>(), touch["attempts"]!.GetValue<int>()));
        Assert.Equal(_twilio.Calls[^1].Sid, touch["providerMessageId"]!.GetValue<string>());
    }

    [Fact]
    public async Task ServerErrorsBackOffExponentiallyAndGiveUpAfterTheLastAttempt()
    {
        _host.Settings["Workers:MaxSendAttempts"] = "4";
        _host.Settings["Workers:RetryBaseDelay"] = "00:01:00";
        var (org, clientId) = await SessionLoggedAsync();
        _twilio.Always = new FakeAnswer(500);

        await _host.AdvanceToAsync(Day2);
        Assert.Single(_twilio.Calls);
        var seenAt = new List<DateTimeOffset> { Day2 };
        while (_host.Clock.GetUtcNow() < Day2.AddHours(2))
        {
            var before = _twilio.Calls.Count;
            await _host.AdvanceAsync(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5));
            for (var i = before; i < _twilio.Calls.Count; i++) seenAt.Add(_host.Clock.GetUtcNow());
        }

        Assert.Equal(4, _twilio.Calls.Count);
        // Base 1 minute doubling, each jittered to half..full: 30–60 s, 60–120 s, 120–240 s (+5 s of clock steps).
        var gaps = seenAt.Zip(seenAt.Skip(1), (a, b) => (b - a).TotalSeconds).ToList();
        Assert.InRange(gaps[0], 30, 65);
        Assert.InRange(gaps[1], 60, 125);
        Assert.InRange(gaps[2], 120, 245);
        var touch = await org.TouchAsync(clientId, "s1-day2");
        Assert.Equal("failed", touch["status"]!.GetValue<string>());
        Assert.StartsWith("gave up after 4 attempts: Twilio error 500", touch["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task AnInvalidNumberFailsAtOnceWithTwiliosReasonShownToTheCoach()
    {
        var (org, clientId) = await SessionLoggedAsync(phone: FakeTwilio.InvalidNumber);

        await _host.AdvanceToAsync(Day2.AddHours(2));

        Assert.Single(_twilio.Calls);
        var touch = await org.TouchAsync(clientId, "s1-day2");
        Assert.Equal("failed", touch["status"]!.GetValue<string>());
        Assert.Equal("21211", touch["errorCode"]!.GetValue<string>());
        Assert.Equal($"Twilio error 21211: The 'To' number {FakeTwilio.InvalidNumber} is not a valid phone number.", touch["error"]!.GetValue<string>());
        var timeline = (await org.Api.GetJsonAsync($"/api/v1/clients/{clientId}/timeline")).AsArray();
        var shown = timeline.Single(e => e!["kind"]!.GetValue<string>() == "touch")!;
        Assert.Equal("failed", shown["deliveryStatus"]!.GetValue<string>());
        Assert.Contains("not a valid phone number", shown["details"]!["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task A21610OptsTheClientOutOfSmsAndTheTouchGoesByEmailWithoutRetryOrErrorLogs()
    {
        using var smtp = SmtpSink.Start();
        _host.UseSmtp(smtp);
        var (org, clientId) = await SessionLoggedAsync();
        _twilio.OptedOut["+14155550101"] = true;

        await _host.AdvanceToAsync(Day2.AddMinutes(2));

        var sms = await org.TouchAsync(clientId, "s1-day2");
        Assert.Equal(("failed", "21610"), (sms["status"]!.GetValue<string>(), sms["errorCode"]!.GetValue<string>()));
        var email = await org.TouchAsync(clientId, "s1-day2-email");
        Assert.Equal(("email", "ava@example.com", "sent"), (email["channel"]!.GetValue<string>(), email["recipient"]!.GetValue<string>(), email["status"]!.GetValue<string>()));
        Assert.Equal(sms["body"]!.GetValue<string>(), email["body"]!.GetValue<string>());
        var mail = smtp.Single("ava@example.com");
        Assert.Contains("make two prospecting calls", mail.Text);
        Assert.Equal("A quick check-in", mail.Subject);

        var client = await org.ClientAsync(clientId);
        Assert.True(client["consent"]!["smsOptedOut"]!.GetValue<bool>());
        var change = client["consent"]!["changes"]!.AsArray()[^1]!;
        Assert.False(change["given"]!.GetValue<bool>());
        Assert.Contains("21610", change["how"]!.GetValue<string>());
        Assert.Equal(FakeTwilio.From, change["sender"]!.GetValue<string>());

        // Information, not an error flood; and never retried.
        var outbox = _logs.From<OutboxProcessor>();
        Assert.Contains(outbox, e => e.Level == LogLevel.Information && e.Message.Contains("21610"));
        Assert.DoesNotContain(outbox, e => e.Level >= LogLevel.Warning);
        await _host.AdvanceToAsync(Day5.AddMinutes(1), TimeSpan.FromMinutes(15));
        Assert.Single(_twilio.Calls);
        // Later touches go by email while the client stays opted out.
        Assert.Equal("email", (await org.TouchAsync(clientId, "s1-day5"))["channel"]!.GetValue<string>());
        Assert.Equal(2, smtp.Messages().Count);
    }

    [Fact]
    public async Task A21610ReportedLaterByAStatusCallbackIsHandledTheSameWay()
    {
        var (org, clientId) = await SessionLoggedAsync();
        await _host.AdvanceToAsync(Day2.AddMinutes(1));
        var sid = Assert.Single(_twilio.Calls).Sid!;

        var response = await _host.CreateClient().PostAsTwilioAsync("/webhooks/twilio/status", ChannelTestKit.Status(sid, "failed", "21610"));
        await _host.PumpAsync();

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(("failed", "21610"), ((await org.TouchAsync(clientId, "s1-day2"))["providerStatus"]!.GetValue<string>(),
            (await org.TouchAsync(clientId, "s1-day2"))["errorCode"]!.GetValue<string>()));
        Assert.True((await org.ClientAsync(clientId))["consent"]!["smsOptedOut"]!.GetValue<bool>());
        Assert.Equal("email", (await org.TouchAsync(clientId, "s1-day2-email"))["channel"]!.GetValue<string>());
        // The same callback again changes nothing more.
        await _host.CreateClient().PostAsTwilioAsync("/webhooks/twilio/status", ChannelTestKit.Status(sid, "failed", "21610"));
        await _host.PumpAsync();
        Assert.Equal(2, (await org.TouchesAsync(clientId)).Count);
    }

    [Fact]
    public async Task ANodeDyingMidSendIsRetriedAfterItsLeaseAndTheTouchIsNeverEnqueuedTwice()
    {
        var (org, clientId) = await SessionLoggedAsync();
        await _host.AdvanceToAsync(Day2.AddMinutes(-1));
        _host.Clock.SetUtcNow(Day2);
        // The reminder turn runs and enqueues the touch; then another node claims the row and dies before sending.
        await _host.Services.GetRequiredService<TimerProcessor>().ProcessBatchAsync(default);
        var lease = _host.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<WorkerOptions>>().Value.LeaseDuration;
        var lost = Assert.Single(await _host.Store.ClaimOutboxAsync("node-that-dies", Day2, 10, lease, default));

        await _host.PumpAsync();
        Assert.Empty(_twilio.Calls);
        await _host.AdvanceAsync(lease - TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        Assert.Empty(_twilio.Calls);
        await _host.AdvanceAsync(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(1));

        var call = Assert.Single(_twilio.Calls);
        var touch = await org.TouchAsync(clientId, "s1-day2");
        Assert.Equal(("sent", lost.Attempt + 1, call.Sid), (touch["status"]!.GetValue<string>(), touch["attempts"]!.GetValue<int>(), touch["providerMessageId"]!.GetValue<string>()));
        // The dead node's late completion is fenced: it cannot overwrite what the live node recorded.
        Assert.False(await _host.Store.CompleteOutboxAsync(lost.Id, lost.Attempt, new OutboxResult.Failed("stale", null), _host.Clock.GetUtcNow(), default));

        // The same turn committed again (a replay after a crash) carries the same idempotency key: no second row, no second SMS.
        var id = new GrainId(org.OrgId, ClientLoopDecider.GrainType, clientId);
        var projection = Assert.Single(await _host.Store.QueryGrainsAsync(new GrainQuery(org.OrgId, ClientLoopDecider.GrainType) { Keys = [clientId] }, default)).Projection;
        await _host.Store.RunTurnAsync(id, TurnTrigger.FromCommand, _host.Clock.GetUtcNow(), current =>
            new TurnDecision.Write(current!.StateJson, projection, [], [], [new OutboxWrite(lost.IdempotencyKey, "sms", lost.Recipient, null, lost.Body, lost.Template, "s1-day2")], []), default);
        await _host.AdvanceAsync(TimeSpan.FromHours(1));

        Assert.Single(await org.TouchesAsync(clientId));
        Assert.Single(_twilio.Calls);
    }

    [Fact]
    public async Task ATouchHeldInTheOutboxPastNineAtNightWaitsForTheMorning()
    {
        // Preferred hour 20:00: the Day-2 nudge is Thursday 20:00 EST = Friday 01:00Z, an hour before quiet hours.
        var (org, clientId) = await SessionLoggedAsync(preferredHour: 20);
        var due = new DateTimeOffset(2026, 3, 6, 1, 0, 0, TimeSpan.Zero);
        _twilio.Then(new FakeAnswer(503, RetryAfterSeconds: 90 * 60));

        await _host.AdvanceToAsync(due.AddMinutes(1), TimeSpan.FromMinutes(15));
        Assert.Single(_twilio.Calls);

        // The retry falls due at 21:30 local: the outbox holds it until 08:00 (13:00Z) instead of texting at night.
        var morning = new DateTimeOffset(2026, 3, 6, 13, 0, 0, TimeSpan.Zero);
        await _host.AdvanceToAsync(morning.AddMinutes(-5), TimeSpan.FromMinutes(5));
        Assert.Single(_twilio.Calls);
        var held = await org.TouchAsync(clientId, "s1-day2");
        Assert.Equal("pending", held["status"]!.GetValue<string>());
        Assert.Contains("quiet hours until 2026-03-06 13:00:00Z", held["error"]!.GetValue<string>());

        await _host.AdvanceToAsync(morning.AddMinutes(5), TimeSpan.FromMinutes(5));
        Assert.Equal([503, 201], _twilio.Calls.Select(c => c.Status));
        Assert.Equal("sent", (await org.TouchAsync(clientId, "s1-day2"))["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task ABatchOfSendsReadsItsClientsQuietHoursInOneStoreReadAndHoldsOnlyThoseAtNight()
    {
        StoreSpy.Install(_host);
        var spy = StoreSpy.Of(_host);
        // Both Day-2 nudges at 20:00 local: New York's at 01:00Z, Los Angeles' at 04:00Z.
        var (org, newYork) = await SessionLoggedAsync(preferredHour: 20);
        var losAngeles = (await org.Api.PostJsonAsync($"/api/v1/cohorts/{org.CohortId}/clients", new
        {
            name = "Leo Park", phone = "+14155550102", email = "leo@example.com", timeZone = "America/Los_Angeles", preferredHour = 20, smsConsent = true,
        }, 201))["clientId"]!.GetValue<string>();
        await org.LogSessionAsync(losAngeles, "Draft the proposal");
        // New York's send is throttled for three hours: its retry falls due at 23:00 there, with Los Angeles' first send.
        _twilio.Then(new FakeAnswer(503, RetryAfterSeconds: 3 * 3600));
        await _host.AdvanceToAsync(new DateTimeOffset(2026, 3, 6, 1, 5, 0, TimeSpan.Zero));
        Assert.Single(_twilio.Calls);

        var (batchReads, singleReads) = (spy.CallsTo(nameof(IGrainStore.LoadManyAsync)), spy.CallsTo(nameof(IGrainStore.LoadAsync)));
        await _host.AdvanceToAsync(new DateTimeOffset(2026, 3, 6, 4, 5, 0, TimeSpan.Zero), TimeSpan.FromHours(3));

        // One outbox batch claimed both rows: one read for both clients, none per message.
        Assert.Equal(batchReads + 1, spy.CallsTo(nameof(IGrainStore.LoadManyAsync)));
        Assert.Equal(singleReads, spy.CallsTo(nameof(IGrainStore.LoadAsync)));
        Assert.Equal(["+14155550101", "+14155550102"], _twilio.Calls.Select(c => c.Form["To"]));
        Assert.Equal("sent", (await org.TouchAsync(losAngeles, "s1-day2"))["status"]!.GetValue<string>());
        var held = await org.TouchAsync(newYork, "s1-day2");
        Assert.Equal("pending", held["status"]!.GetValue<string>());
        Assert.Contains("quiet hours until 2026-03-06 13:00:00Z", held["error"]!.GetValue<string>());
    }
}
