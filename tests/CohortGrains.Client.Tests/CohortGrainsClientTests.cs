using System.Net;
using System.Text;
using CohortGrains.Client;
using CohortGrains.Host.Tests.Infrastructure;

namespace CohortGrains.Client.Tests;

/// <summary>The typed client against the real host (in-process, fake clock): every call round-trips the API's JSON.</summary>
public sealed class CohortGrainsClientTests : IDisposable
{
    private readonly TestHost _host = new();

    public void Dispose() => _host.Dispose();

    private CohortGrainsClient As(string key) => new(_host.CreateClient(), key);

    [Fact]
    public async Task AnIntegratorRunsTheLoopThroughTheClient()
    {
        var org = await As(TestHost.OperatorKey).CreateOrgAsync("Northstar");
        var api = As(org.ApiKey);
        var coach = await api.CreateCoachAsync(new NewCoach("Maya Chen", "America/New_York", Availability: [new("wednesday", "09:00", "11:00")]));
        Assert.Equal("wednesday", coach.Availability.Single().Day);
        var cohort = await api.CreateCohortAsync(new NewCohort("Launch", coach.CoachId, new CohortProgram("tuesday", "10:00", "America/New_York", WeeklyCap: 3)));
        Assert.Equal("draft", cohort.Lifecycle);
        Assert.Equal(3, cohort.Program.WeeklyCap);
        Assert.Equal(3, cohort.Program.Cadence!.Count);
        Assert.Equal("active", (await api.ActivateCohortAsync(cohort.CohortId)).Lifecycle);

        var client = await api.EnrolAsync(cohort.CohortId, new NewClient("Ava Brooks", "America/New_York", 9, Phone: "+14155550101", SmsConsent: true));
        Assert.Equal("on-track", client.Status);
        var bulk = await api.EnrolManyAsync(cohort.CohortId, [new NewClient("Ben Costa", "Europe/Berlin", 8, Email: "ben@example.com")]);
        Assert.Equal(1, bulk.Accepted);
        await _host.PumpAsync();
        Assert.Equal(2, (await api.GetRosterAsync(cohort.CohortId)).Count);

        _host.Clock.SetUtcNow(new DateTimeOffset(2026, 3, 3, 15, 30, 0, TimeSpan.Zero));
        var logged = await api.LogSessionAsync(client.ClientId, new SessionLog(
            [new NewActionItem("Make two prospecting calls", new DateOnly(2026, 3, 6), "how it felt"), new NewActionItem("be more confident")],
            new SessionNote("Pipeline", "Avoids asking", "Two calls", "Busy week", "What got in the way")));
        Assert.Equal(1, logged.Session.Number);
        Assert.Single(logged.Hints); // "be more confident" cannot be observed

        var reply = await api.ReplyAsync(client.ClientId, new Reply(Rating: 2, Text: "no time for calls"));
        Assert.Equal(("stuck", "stuck"), (reply.Route, reply.Status));
        await _host.PumpAsync();
        var alert = Assert.Single(await api.GetAlertsAsync(coach.CoachId, open: true));
        Assert.NotNull(alert.OfferedSlot);
        Assert.False((await api.HandleAlertAsync(coach.CoachId, alert.AlertId, "called")).Open);

        var done = await api.CompleteActionAsync(client.ClientId, logged.Session.ActionItems[0].ItemId);
        Assert.NotNull(done.Sessions[0].ActionItems[0].CompletedAt);
        var dashboard = await api.GetCohortDashboardAsync(cohort.CohortId);
        Assert.Equal(0.5, dashboard.ActionCompletionRate);
        Assert.Equal("stuck", dashboard.Roster[0].Status);
        var touches = await api.GetTouchesAsync(clientId: client.ClientId);
        Assert.Contains(touches.Touches, t => t.Template == "slot-offer");
        Assert.NotEmpty(await api.GetTimelineAsync(client.ClientId));
    }

    [Fact]
    public async Task AnAdminManagesTheOrgThroughTheClient()
    {
        var org = await As(TestHost.OperatorKey).CreateOrgAsync("Northstar");
        var api = As(org.ApiKey);
        var mine = await api.GetOrgAsync();
        Assert.Equal(("Northstar", org.OrgId), (mine.Name, mine.OrgId));

        var coach = await api.CreateCoachAsync(new NewCoach("Maya Chen", "America/New_York"));
        var moved = await api.SetAvailabilityAsync(coach.CoachId, [new Availability("friday", "13:00", "15:00")]);
        Assert.Equal(("friday", "13:00"), (moved.Availability.Single().Day, moved.Availability.Single().Start));
        Assert.Equal("Maya Chen", Assert.Single(await api.ListCoachesAsync()).Name);

        var cohort = await api.CreateCohortAsync(new NewCohort("Launch", coach.CoachId, new CohortProgram("tuesday", "10:00", "America/New_York")));
        Assert.Equal("draft", Assert.Single(await api.ListCohortsAsync()).Lifecycle);
        var edited = await api.UpdateProgramAsync(cohort.CohortId, cohort.Program with { WeeklyCap = 2, QuietHours = new QuietHours("20:00", "09:00") });
        Assert.Equal((2, "20:00"), (edited.Program.WeeklyCap, edited.Program.QuietHours!.Start));
        var active = await api.ActivateCohortAsync(cohort.CohortId);
        Assert.NotNull(active.ActivatedAt);

        var client = await api.EnrolAsync(cohort.CohortId, new NewClient("Ava Brooks", "America/New_York", 9, Email: "ava@example.com"));
        _host.Clock.SetUtcNow(new DateTimeOffset(2026, 3, 3, 15, 30, 0, TimeSpan.Zero));
        var sent = await api.SendMessageAsync(client.ClientId, new CoachMessage("Proud of you for Tuesday.", "email", "req-1"));
        var again = await api.SendMessageAsync(client.ClientId, new CoachMessage("Proud of you for Tuesday.", "email", "req-1"));
        Assert.Equal(("email", sent.TouchId), (sent.Channel, again.TouchId));
        await _host.PumpAsync();
        Assert.Single((await api.GetTouchesAsync(clientId: client.ClientId)).Touches, t => t.Body.Contains("Proud of you", StringComparison.Ordinal));

        var link = await api.CreateLinkAsync(client.ClientId, expiresInHours: 48);
        Assert.StartsWith("cgl_", link.Token, StringComparison.Ordinal);
        Assert.Equal("Ava Brooks", (await As(link.Token).GetClientAsync(client.ClientId)).Name);
        Assert.Equal(1, (await api.RevokeLinksAsync(client.ClientId)).Revoked);
        Assert.Equal(401, (await Assert.ThrowsAsync<CohortGrainsApiException>(() => As(link.Token).GetClientAsync(client.ClientId))).Status);

        // The escape hatch reaches what has no method yet, with the caller's key: a write, then the read that shows it.
        await api.SendJsonAsync(HttpMethod.Put, $"/api/v1/coaches/{coach.CoachId}/norms",
            new { channels = new[] { "sms" }, responseHours = 24, includedSupport = "Check-ins between sessions", notIncluded = "Weekend calls" });
        var norms = await api.SendJsonAsync(HttpMethod.Get, $"/api/v1/coaches/{coach.CoachId}/norms");
        Assert.Equal(24, (int?)norms?["norms"]?["responseHours"]);

        Assert.Equal("done", (await api.EndAsync(client.ClientId)).Status);
        Assert.Equal("Ava Brooks", (string?)(await api.ExportClientAsync(client.ClientId))["client"]?["name"]);
        var erased = await api.EraseClientAsync(client.ClientId);
        Assert.Equal(client.ClientId, erased.ClientId);
        Assert.True(erased.Removed.OutboxRowsScrubbed >= 1);
        Assert.Equal(404, (await Assert.ThrowsAsync<CohortGrainsApiException>(() => api.GetClientAsync(client.ClientId))).Status);
    }

    [Fact]
    public async Task LifecycleCallsAndTouchPagesGoThroughTheClient()
    {
        var org = await As(TestHost.OperatorKey).CreateOrgAsync("Northstar");
        var api = As(org.ApiKey);
        var coach = await api.CreateCoachAsync(new NewCoach("Maya Chen", "America/New_York"));
        Assert.Equal("Maya Chen", (await api.GetCoachAsync(coach.CoachId)).Name);
        var cohort = await api.CreateCohortAsync(new NewCohort("Launch", coach.CoachId, new CohortProgram("tuesday", "10:00", "America/New_York")));
        await api.ActivateCohortAsync(cohort.CohortId);
        Assert.Equal("active", (await api.GetCohortAsync(cohort.CohortId)).Lifecycle);

        _host.Clock.SetUtcNow(new DateTimeOffset(2026, 3, 3, 15, 30, 0, TimeSpan.Zero)); // mid-morning in New York
        var ids = new List<string>();
        foreach (var name in new[] { "Ava Brooks", "Ben Costa", "Cleo Diaz" })
        {
            var client = await api.EnrolAsync(cohort.CohortId, new NewClient(name, "America/New_York", 9, Email: $"{name[..3].ToLowerInvariant()}@example.com"));
            await api.SendMessageAsync(client.ClientId, new CoachMessage($"Welcome, {name}!", "email"));
            ids.Add(client.ClientId);
        }
        await _host.PumpAsync();

        // Newest first, two to a page: the cursor of a full page leads to the rest, and the last page has none.
        var first = await api.GetTouchesAsync(limit: 2);
        var rest = await api.GetTouchesAsync(limit: 2, before: first.NextBefore);
        var all = first.Touches.Concat(rest.Touches).ToList();
        Assert.Equal((2, 1), (first.Touches.Count, rest.Touches.Count));
        Assert.Null(rest.NextBefore);
        Assert.Equal(all.Select(t => t.Id).OrderDescending(), all.Select(t => t.Id));
        Assert.Equal(ids.Order(), all.Select(t => t.ClientId).Order());

        Assert.Equal("paused", (await api.PauseAsync(ids[0])).Status);
        Assert.Equal("on-track", (await api.ResumeAsync(ids[0])).Status);
        Assert.Equal(3, Assert.Single((await api.GetDashboardAsync()).Cohorts).Clients);
        var ended = await api.EndCohortAsync(cohort.CohortId);
        Assert.Equal("ended", ended.Lifecycle);
        Assert.NotNull(ended.EndedAt);
    }

    [Fact]
    public async Task ClientsOfTwoOrgsShareOneHttpClientAndEachCallsWithItsOwnKey()
    {
        var operatorApi = As(TestHost.OperatorKey);
        var (north, south) = (await operatorApi.CreateOrgAsync("Northstar"), await operatorApi.CreateOrgAsync("Southwind"));
        using var shared = _host.CreateClient();
        var (a, b) = (new CohortGrainsClient(shared, north.ApiKey), new CohortGrainsClient(shared, south.ApiKey));

        await a.CreateCoachAsync(new NewCoach("Maya Chen", "America/New_York"));
        await b.CreateCoachAsync(new NewCoach("Sam Ortiz", "Europe/Berlin"));
        Assert.Equal("Northstar", (await a.GetOrgAsync()).Name);
        Assert.Equal("Maya Chen", Assert.Single(await a.ListCoachesAsync()).Name);
        Assert.Equal("Southwind", (await b.GetOrgAsync()).Name);
        Assert.Equal("Sam Ortiz", Assert.Single(await b.ListCoachesAsync()).Name);
        Assert.Null(shared.DefaultRequestHeaders.Authorization);
    }

    [Fact]
    public async Task AnAnswerFromAProxyInFrontOfTheApiKeepsItsStatus()
    {
        var answers = new Queue<HttpResponseMessage>([
            new(HttpStatusCode.BadGateway) { Content = new StringContent("<html><body>502 Bad Gateway</body></html>", Encoding.UTF8, "text/html") },
            new(HttpStatusCode.BadRequest) { Content = new StringContent("[1, 2]", Encoding.UTF8, "application/json") },
            new(HttpStatusCode.BadRequest)
            {
                Content = new StringContent("""{"title":"One or more validation errors occurred.","errors":{"name":"is required","rating":["must be 1 to 5", 7]}}""",
                    Encoding.UTF8, "application/problem+json"),
            },
            new(HttpStatusCode.NoContent),
            new(HttpStatusCode.NoContent),
        ]);
        using var http = new HttpClient(new Answering(answers)) { BaseAddress = new Uri("http://127.0.0.1/") };
        var api = new CohortGrainsClient(http, "cg_key");

        var html = await Assert.ThrowsAsync<CohortGrainsApiException>(() => api.GetOrgAsync());
        Assert.Equal((502, null, 0), (html.Status, html.Title, html.Errors.Count));
        var array = await Assert.ThrowsAsync<CohortGrainsApiException>(() => api.GetOrgAsync());
        Assert.Equal((400, null), (array.Status, array.Title));
        var odd = await Assert.ThrowsAsync<CohortGrainsApiException>(() => api.GetOrgAsync());
        Assert.Equal(["is required"], odd.Errors["name"]);
        Assert.Equal(["must be 1 to 5", "7"], odd.Errors["rating"]);
        Assert.Null(await api.SendJsonAsync(HttpMethod.Delete, "api/v1/anything"));
        // A typed method that gets no body does not hand back a null it promised not to.
        var empty = await Assert.ThrowsAsync<InvalidOperationException>(() => api.GetOrgAsync());
        Assert.Equal("the API answered 204 without a body where Org was expected", empty.Message);
        Assert.Empty(answers);
    }

    /// <summary>Stands in for a proxy or load balancer: answers each request with the next canned response.</summary>
    private sealed class Answering(Queue<HttpResponseMessage> answers) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            Assert.Equal("Bearer cg_key", request.Headers.Authorization?.ToString());
            return Task.FromResult(answers.Dequeue());
        }
    }

    [Fact]
    public async Task ProblemsBecomeExceptionsWithTheFieldErrors()
    {
        var org = await As(TestHost.OperatorKey).CreateOrgAsync("Northstar");
        var api = As(org.ApiKey);
        var invalid = await Assert.ThrowsAsync<CohortGrainsApiException>(() => api.CreateCoachAsync(new NewCoach("", "Mars/Base")));
        Assert.Equal(400, invalid.Status);
        Assert.Contains("name", invalid.Errors.Keys);
        Assert.Contains("timeZone", invalid.Errors.Keys);
        var missing = await Assert.ThrowsAsync<CohortGrainsApiException>(() => api.GetClientAsync("cli_missing"));
        Assert.Equal(404, missing.Status);
        var forbidden = await Assert.ThrowsAsync<CohortGrainsApiException>(() => api.CreateOrgAsync("nope"));
        Assert.Equal(403, forbidden.Status);
    }
}
