using System.Net;
using System.Net.Http.Json;
using CohortGrains.Runtime.Storage;
using CohortGrains.Host.Tests.Infrastructure;

namespace CohortGrains.Host.Tests;

/// <summary>The whole loop through the gateway: session → timed touch → reply → escalation → dashboard → handled.</summary>
public sealed class CheckInLoopTests : IDisposable
{
    private readonly TestHost _host = new();

    public void Dispose() => _host.Dispose();

    [Fact]
    public async Task StuckReplyReachesTheCoachAndTheDashboard()
    {
        var org = await Org.CreateAsync(_host);
        var clientId = await org.EnrolAsync("Ava Brooks");
        await org.EnrolAsync("Ben Costa", phone: "+14155550102");

        // Tuesday 10:30 in New York: the coach logs the session right after it.
        _host.Clock.SetUtcNow(new DateTimeOffset(2026, 3, 3, 15, 30, 0, TimeSpan.Zero));
        var logged = await org.LogSessionAsync(clientId, "Make two prospecting calls", "Draft the pricing page");
        // Clocks spring forward on Sunday 8 March: next Tuesday 10:00 in New York is 14:00Z, not 15:00Z.
        Assert.Equal(new DateTimeOffset(2026, 3, 10, 14, 0, 0, TimeSpan.Zero), logged["session"]!["nextSessionAt"]!.GetValue<DateTimeOffset>());

        // Nothing before Thursday 09:00 New York (14:00Z); then exactly the Day-2 nudge, by SMS, naming the commitment.
        await _host.AdvanceAsync(new DateTimeOffset(2026, 3, 5, 13, 45, 0, TimeSpan.Zero) - _host.Clock.GetUtcNow());
        var before = await org.Api.GetJsonAsync($"/api/v1/touches?clientId={clientId}");
        Assert.Empty(before["touches"]!.AsArray());
        await _host.AdvanceAsync(TimeSpan.FromMinutes(30));
        var touches = (await org.Api.GetJsonAsync($"/api/v1/touches?clientId={clientId}"))["touches"]!.AsArray();
        var nudge = Assert.Single(touches)!;
        Assert.Equal("sms", nudge["channel"]!.GetValue<string>());
        Assert.Equal("+14155550101", nudge["recipient"]!.GetValue<string>());
        Assert.Contains("make two prospecting calls", nudge["body"]!.GetValue<string>());
        Assert.Contains("Ava", nudge["body"]!.GetValue<string>());
        Assert.Equal("sent", nudge["status"]!.GetValue<string>());
        Assert.Equal(new DateTimeOffset(2026, 3, 5, 14, 0, 0, TimeSpan.Zero), nudge["createdAt"]!.GetValue<DateTimeOffset>());

        // The client answers the SMS: "2 no time for calls" → stuck, the coach is alerted and a slot is offered.
        var reply = await org.Api.PostJsonAsync($"/api/v1/clients/{clientId}/replies", new { text = "2 no time for calls", channel = "sms" }, 200);
        Assert.Equal("stuck", reply["status"]!.GetValue<string>());
        Assert.Equal("s1-day2", reply["promptId"]!.GetValue<string>());
        await _host.PumpAsync();

        var alerts = (await org.Api.GetJsonAsync($"/api/v1/coaches/{org.CoachId}/alerts?open=true")).AsArray();
        var alert = Assert.Single(alerts)!;
        Assert.Equal(clientId, alert["clientId"]!.GetValue<string>());
        Assert.Contains("rated 2", alert["detail"]!.GetValue<string>());
        Assert.Contains("no time for calls", alert["detail"]!.GetValue<string>());
        // Coach is free Wednesdays 09:00–11:00 New York: the next one after Thursday is 2026-03-11 09:00 EDT.
        Assert.Equal(new DateTimeOffset(2026, 3, 11, 13, 0, 0, TimeSpan.Zero), alert["offeredSlot"]!.GetValue<DateTimeOffset>());
        var offer = (await org.Api.GetJsonAsync($"/api/v1/touches?clientId={clientId}"))["touches"]!.AsArray()[0]!;
        Assert.Equal("slot-offer", offer["template"]!.GetValue<string>());
        Assert.Contains("Wed 09:00", offer["body"]!.GetValue<string>());

        var dashboard = await org.Api.GetJsonAsync($"/api/v1/cohorts/{org.CohortId}/dashboard");
        Assert.Equal(2, dashboard["clients"]!.GetValue<int>());
        Assert.Equal(1, dashboard["byStatus"]!["stuck"]!.GetValue<int>());
        Assert.Equal(0.5, dashboard["stuckRate"]!.GetValue<double>());
        Assert.Equal(1.0, dashboard["replyRate"]!.GetValue<double>());
        Assert.Equal(0.0, dashboard["catchRate"]!.GetValue<double>());
        var first = dashboard["roster"]!.AsArray()[0]!;
        Assert.Equal(clientId, first["clientId"]!.GetValue<string>());
        Assert.StartsWith("rated 2 on Thu", first["reason"]!.GetValue<string>());

        // The coach handles it before the next session: it counts as caught.
        await org.Api.PostJsonAsync($"/api/v1/coaches/{org.CoachId}/alerts/{alert["alertId"]}/handle", new { note = "called her" }, 200);
        await _host.PumpAsync();
        dashboard = await org.Api.GetJsonAsync($"/api/v1/cohorts/{org.CohortId}/dashboard");
        Assert.Equal(1.0, dashboard["catchRate"]!.GetValue<double>());

        var timeline = (await org.Api.GetJsonAsync($"/api/v1/clients/{clientId}/timeline")).AsArray();
        Assert.Contains(timeline, e => e!["kind"]!.GetValue<string>() == "touch" && e["deliveryStatus"]!.GetValue<string>() == "delivered");
        Assert.Contains(timeline, e => e!["kind"]!.GetValue<string>() == "reply" && e["rating"]!.GetValue<int>() == 2);
        Assert.Contains(timeline, e => e!["kind"]!.GetValue<string>() == "escalation-handled");
    }

    [Fact]
    public async Task AValidReplyIsCheckedInItsTurnWithNoReadBeforeItAndAnInvalidOneReadsTheClientOnce()
    {
        StoreSpy.Install(_host);
        var spy = StoreSpy.Of(_host);
        var org = await Org.CreateAsync(_host);
        var clientId = await org.EnrolAsync("Ava Brooks");
        var (reads, turns) = (spy.CallsTo(nameof(IGrainStore.LoadAsync)), spy.CallsTo(nameof(IGrainStore.RunTurnsAsync)));

        var reply = await org.Api.PostJsonAsync($"/api/v1/clients/{clientId}/replies", new { rating = 4 }, 200);
        Assert.Equal(4, reply["rating"]!.GetValue<int>());
        // The caller's access was checked on the state the turn locked: the request read nothing before its turn.
        Assert.Equal(reads, spy.CallsTo(nameof(IGrainStore.LoadAsync)));
        Assert.Equal(turns + 1, spy.CallsTo(nameof(IGrainStore.RunTurnsAsync)));

        // An invalid body runs no turn; the client is read once, to say "not found" to a caller who may not see them.
        var invalid = await org.Api.PostAsJsonAsync($"/api/v1/clients/{clientId}/replies", new { rating = 9 });
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        Assert.Equal(reads + 1, spy.CallsTo(nameof(IGrainStore.LoadAsync)));
        Assert.Equal(turns + 1, spy.CallsTo(nameof(IGrainStore.RunTurnsAsync)));
    }

    [Fact]
    public async Task NoReplyToTheDay5CheckMarksTheClientSilentAfter24Hours()
    {
        var org = await Org.CreateAsync(_host);
        var clientId = await org.EnrolAsync();
        _host.Clock.SetUtcNow(new DateTimeOffset(2026, 3, 3, 15, 30, 0, TimeSpan.Zero));
        await org.LogSessionAsync(clientId, "Make two prospecting calls");

        // Day 5 is Sunday 8 March, the day clocks spring forward: 09:00 EDT = 13:00Z. Without a reply by Monday 13:00Z the client is silent.
        await _host.AdvanceAsync(new DateTimeOffset(2026, 3, 9, 12, 45, 0, TimeSpan.Zero) - _host.Clock.GetUtcNow());
        var client = await org.Api.GetJsonAsync($"/api/v1/clients/{clientId}");
        Assert.Equal("on-track", client["status"]!.GetValue<string>());
        await _host.AdvanceAsync(TimeSpan.FromMinutes(30));
        client = await org.Api.GetJsonAsync($"/api/v1/clients/{clientId}");
        Assert.Equal("silent", client["status"]!.GetValue<string>());
        var alert = Assert.Single((await org.Api.GetJsonAsync($"/api/v1/coaches/{org.CoachId}/alerts")).AsArray())!;
        Assert.Equal("silent", alert["reason"]!.GetValue<string>());
    }

    [Fact]
    public async Task SessionsCannotBeLoggedUntilTheCohortIsActive()
    {
        var org = await Org.CreateAsync(_host, activate: false);
        var clientId = await org.EnrolAsync();
        var response = await org.Api.PostAsync($"/api/v1/clients/{clientId}/sessions", Http.RawJson("""{"actionItems":[{"what":"Make two calls"}],"note":{"focus":"a","insight":"b","agreedAction":"c","obstacle":"d","followUp":"e"}}"""));
        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }
}
