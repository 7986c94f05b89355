using System.Net;
using CohortGrains.Host.Tests.Infrastructure;

namespace CohortGrains.Host.Tests;

/// <summary>POST /clients/{id}/messages: the coach's own words to a client, through the outbox like any touch.</summary>
public sealed class CoachMessagesApiTests : IDisposable
{
    private readonly TestHost _host = new();

    public void Dispose() => _host.Dispose();

    [Fact]
    public async Task AMessageIsSentOnceBySmsSignedAndShowsInTheTimeline()
    {
        var org = await Org.CreateAsync(_host);
        var clientId = await org.EnrolAsync("Ava Brooks");
        // Tuesday 11:00 New York.
        _host.Clock.SetUtcNow(new DateTimeOffset(2026, 3, 3, 16, 0, 0, TimeSpan.Zero));

        var body = new { text = "  Saw your note on pricing: Wednesday 9:00?  ", requestId = "req-1" };
        var sent = await org.Api.PostJsonAsync($"/api/v1/clients/{clientId}/messages", body, 201);
        await org.Api.PostJsonAsync($"/api/v1/clients/{clientId}/messages", body, 201);
        await _host.PumpAsync();

        Assert.Equal("msg-req-1", sent["touchId"]!.GetValue<string>());
        Assert.Equal("Saw your note on pricing: Wednesday 9:00?", sent["text"]!.GetValue<string>());
        var touch = Assert.Single((await org.Api.GetJsonAsync($"/api/v1/touches?clientId={clientId}"))["touches"]!.AsArray())!;
        Assert.Equal("sms", touch["channel"]!.GetValue<string>());
        Assert.Equal("coach-message", touch["template"]!.GetValue<string>());
        Assert.Equal("Saw your note on pricing: Wednesday 9:00?\n— Maya Chen", touch["body"]!.GetValue<string>());
        Assert.Equal("sent", touch["status"]!.GetValue<string>());
        var timeline = (await org.Api.GetJsonAsync($"/api/v1/clients/{clientId}/timeline")).AsArray();
        Assert.Contains(timeline, e => e!["kind"]!.GetValue<string>() == "touch" && e["summary"]!.GetValue<string>().StartsWith("Saw your note", StringComparison.Ordinal));
        var audit = (await org.Api.GetJsonAsync($"/api/v1/audit?targetId={clientId}&action=message.sent")).ToJsonString();
        Assert.Contains("msg-req-1", audit, StringComparison.Ordinal);
        Assert.DoesNotContain("pricing", audit, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AMessageWrittenAtNightWaitsForTheEndOfTheClientsQuietHours()
    {
        var org = await Org.CreateAsync(_host);
        var clientId = await org.EnrolAsync("Ava Brooks");
        // Tuesday 23:00 New York.
        _host.Clock.SetUtcNow(new DateTimeOffset(2026, 3, 4, 4, 0, 0, TimeSpan.Zero));

        await org.Api.PostJsonAsync($"/api/v1/clients/{clientId}/messages", new { text = "Sleep on it", channel = "email" }, 201);
        await _host.PumpAsync();
        var night = Assert.Single((await org.Api.GetJsonAsync($"/api/v1/touches?clientId={clientId}"))["touches"]!.AsArray())!;
        await _host.AdvanceAsync(TimeSpan.FromHours(9.5));
        var morning = Assert.Single((await org.Api.GetJsonAsync($"/api/v1/touches?clientId={clientId}"))["touches"]!.AsArray())!;

        Assert.Equal("pending", night["status"]!.GetValue<string>());
        Assert.Equal("email", morning["channel"]!.GetValue<string>());
        Assert.Equal("sent", morning["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task BadInputIsAFieldErrorAndOtherCallersFindNothing()
    {
        var org = await Org.CreateAsync(_host);
        var clientId = await org.EnrolAsync("Ava Brooks");
        var link = (await org.Api.PostJsonAsync($"/api/v1/clients/{clientId}/links", new { expiresInHours = 24 }, 201))["token"]!.GetValue<string>();
        var other = await Org.CreateAsync(_host);

        var empty = await org.Api.RawAsync("POST", $"/api/v1/clients/{clientId}/messages", """{"text":"  ","channel":"pigeon"}""");
        var stranger = await other.Api.RawAsync("POST", $"/api/v1/clients/{clientId}/messages", """{"text":"hello"}""");
        var self = await _host.ClientWithKey(link).RawAsync("POST", $"/api/v1/clients/{clientId}/messages", """{"text":"hello"}""");

        Assert.Equal(HttpStatusCode.BadRequest, empty.StatusCode);
        var errors = (await empty.ReadJsonAsync())["errors"]!;
        Assert.NotNull(errors["text"]);
        Assert.NotNull(errors["channel"]);
        Assert.Equal(HttpStatusCode.NotFound, stranger.StatusCode);
        // A client's link is not a coach: the policy is staff-only.
        Assert.Equal(HttpStatusCode.Forbidden, self.StatusCode);
        Assert.Empty((await org.Api.GetJsonAsync($"/api/v1/touches?clientId={clientId}"))["touches"]!.AsArray());
    }
}
