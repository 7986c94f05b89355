using System.Net;
using System.Net.Http.Json;
using CohortGrains.Host.Tests.Infrastructure;

namespace CohortGrains.Host.Tests;

/// <summary>One host and org shared by every case: each bad request must be refused without changing anything.</summary>
public sealed class ApiFixture : IAsyncLifetime
{
    public TestHost Host { get; } = new();
    public Org Org { get; private set; } = null!;
    public string ClientId { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Org = await Org.CreateAsync(Host);
        ClientId = await Org.EnrolAsync();
        Host.Clock.SetUtcNow(new DateTimeOffset(2026, 3, 3, 15, 30, 0, TimeSpan.Zero));
        await Org.LogSessionAsync(ClientId, "Make two prospecting calls");
    }

    public Task DisposeAsync()
    {
        Host.Dispose();
        return Task.CompletedTask;
    }
}

public sealed class ApiValidationTests(ApiFixture fx) : IClassFixture<ApiFixture>
{
    private const string Note = """{"focus":"a","insight":"b","agreedAction":"c","obstacle":"d","followUp":"e"}""";
    private const string Program = """{"sessionDay":"tuesday","sessionTime":"10:00","timeZone":"America/New_York"}""";

    /// <summary>(method, path with {coach}/{cohort}/{client} placeholders, JSON body, the field the 400 must name).</summary>
    public static TheoryData<string, string, string, string> BadRequests => new()
    {
        { "POST", "/api/v1/coaches", """{"timeZone":"America/New_York"}""", "name" },
        { "POST", "/api/v1/coaches", """{"name":"A","timeZone":"Mars/Olympus"}""", "timeZone" },
        { "POST", "/api/v1/coaches", """{"name":"A","timeZone":"UTC","email":"not-an-email"}""", "email" },
        { "POST", "/api/v1/coaches", """{"name":"A","timeZone":"UTC","availability":[{"day":"funday","start":"09:00","end":"10:00"}]}""", "availability[0].day" },
        { "POST", "/api/v1/coaches", """{"name":"A","timeZone":"UTC","availability":[{"day":"monday","start":"11:00","end":"10:00"}]}""", "availability[0].end" },
        { "POST", "/api/v1/coaches", """{"name":"A","timeZone":"UTC","availability":[{"day":"monday","start":"9am","end":"10:00"}]}""", "availability[0].start" },
        { "PUT", "/api/v1/coaches/{coach}/availability", """{}""", "availability" },
        { "POST", "/api/v1/coaches/{coach}/alerts/a1/handle", "{\"note\":\"" + new string('x', 2001) + "\"}", "note" },
        { "POST", "/api/v1/cohorts", $$"""{"coachId":"{coach}","program":{{Program}}}""", "name" },
        { "POST", "/api/v1/cohorts", """{"name":"C","coachId":"coa_nope","program":{"sessionDay":"tuesday","sessionTime":"10:00","timeZone":"UTC"}}""", "coachId" },
        { "POST", "/api/v1/cohorts", """{"name":"C","coachId":"{coach}"}""", "program" },
        { "POST", "/api/v1/cohorts", """{"name":"C","coachId":"{coach}","program":{"sessionTime":"10:00","timeZone":"UTC"}}""", "program.sessionDay" },
        { "POST", "/api/v1/cohorts", """{"name":"C","coachId":"{coach}","program":{"sessionDay":"tuesday","sessionTime":"25:00","timeZone":"UTC"}}""", "program.sessionTime" },
        { "POST", "/api/v1/cohorts", """{"name":"C","coachId":"{coach}","program":{"sessionDay":"tuesday","sessionTime":"10:00","timeZone":"Nowhere/Else"}}""", "program.timeZone" },
        { "POST", "/api/v1/cohorts", """{"name":"C","coachId":"{coach}","program":{"sessionDay":"tuesday","sessionTime":"10:00","timeZone":"UTC","weeks":0}}""", "program.weeks" },
        { "POST", "/api/v1/cohorts", """{"name":"C","coachId":"{coach}","program":{"sessionDay":"tuesday","sessionTime":"10:00","timeZone":"UTC","weeklyCap":40}}""", "program.weeklyCap" },
        { "POST", "/api/v1/cohorts", """{"name":"C","coachId":"{coach}","program":{"sessionDay":"tuesday","sessionTime":"10:00","timeZone":"UTC","quietHours":{"start":"23:00","end":"06:00"}}}""", "program.quietHours" },
        { "POST", "/api/v1/cohorts", """{"name":"C","coachId":"{coach}","program":{"sessionDay":"tuesday","sessionTime":"10:00","timeZone":"UTC","cadence":[{"key":"d9","dayOffset":9,"channel":"sms","kind":"nudge"}]}}""", "program.cadence[0].dayOffset" },
        { "POST", "/api/v1/cohorts", """{"name":"C","coachId":"{coach}","program":{"sessionDay":"tuesday","sessionTime":"10:00","timeZone":"UTC","cadence":[{"key":"d2","dayOffset":2,"channel":"pigeon","kind":"nudge"}]}}""", "program.cadence[0].channel" },
        { "POST", "/api/v1/cohorts", """{"name":"C","coachId":"{coach}","program":{"sessionDay":"tuesday","sessionTime":"10:00","timeZone":"UTC","cadence":[{"key":"d2","dayOffset":2,"channel":"sms","kind":"shout"}]}}""", "program.cadence[0].kind" },
        { "POST", "/api/v1/cohorts", """{"name":"C","coachId":"{coach}","program":{"sessionDay":"tuesday","sessionTime":"10:00","timeZone":"UTC","cadence":[{"key":"a","dayOffset":2,"channel":"sms","kind":"nudge"},{"key":"a","dayOffset":3,"channel":"sms","kind":"nudge"}]}}""", "program.cadence" },
        { "PUT", "/api/v1/cohorts/{cohort}/program", """{}""", "program" },
        { "POST", "/api/v1/cohorts/{cohort}/clients", """{"phone":"+14155550111","timeZone":"UTC","preferredHour":9}""", "name" },
        { "POST", "/api/v1/cohorts/{cohort}/clients", """{"name":"A","phone":"555-0111","timeZone":"UTC","preferredHour":9}""", "phone" },
        { "POST", "/api/v1/cohorts/{cohort}/clients", """{"name":"A","email":"a@b","timeZone":"UTC","preferredHour":9}""", "email" },
        { "POST", "/api/v1/cohorts/{cohort}/clients", """{"name":"A","timeZone":"UTC","preferredHour":9}""", "email" },
        { "POST", "/api/v1/cohorts/{cohort}/clients", """{"name":"A","email":"a@example.com","preferredHour":9}""", "timeZone" },
        { "POST", "/api/v1/cohorts/{cohort}/clients", """{"name":"A","email":"a@example.com","timeZone":"UTC","preferredHour":24}""", "preferredHour" },
        { "POST", "/api/v1/cohorts/{cohort}/clients", """{"name":"A","email":"a@example.com","timeZone":"UTC","preferredHour":9,"smsConsent":true}""", "smsConsent" },
        { "POST", "/api/v1/cohorts/{cohort}/clients", """{"name":"A","email":"a@example.com","timeZone":"UTC","preferredHour":9,"quietHours":{"start":"22:00","end":"07:00"}}""", "quietHours" },
        { "POST", "/api/v1/cohorts/{cohort}/clients", "{\"name\":\"A\\u0007\",\"email\":\"a@example.com\",\"timeZone\":\"UTC\",\"preferredHour\":9}", "name" },
        { "POST", "/api/v1/cohorts/{cohort}/clients/bulk", """{"clients":[]}""", "clients" },
        { "POST", "/api/v1/cohorts/{cohort}/clients/bulk", """{"clients":[{"name":"A","email":"a@example.com","timeZone":"UTC","preferredHour":9},{"name":"B","timeZone":"UTC","preferredHour":9}]}""", "clients[1].email" },
        { "POST", "/api/v1/clients/{client}/sessions", $$"""{"actionItems":[],"note":{{Note}}}""", "actionItems" },
        { "POST", "/api/v1/clients/{client}/sessions", $$"""{"actionItems":[{"what":"a"},{"what":"b"},{"what":"c"},{"what":"d"}],"note":{{Note}}}""", "actionItems" },
        { "POST", "/api/v1/clients/{client}/sessions", $$"""{"actionItems":[{"what":""}],"note":{{Note}}}""", "actionItems[0].what" },
        { "POST", "/api/v1/clients/{client}/sessions", $$"""{"actionItems":[{"what":"Make calls","byWhen":"next week"}],"note":{{Note}}}""", "actionItems[0].byWhen" },
        { "POST", "/api/v1/clients/{client}/sessions", """{"actionItems":[{"what":"Make calls"}]}""", "note" },
        { "POST", "/api/v1/clients/{client}/sessions", """{"actionItems":[{"what":"Make calls"}],"note":{"focus":"a","insight":"b","agreedAction":"c","obstacle":"d"}}""", "note.followUp" },
        { "POST", "/api/v1/clients/{client}/sessions", $$"""{"occurredAt":"2030-01-01T00:00:00Z","actionItems":[{"what":"Make calls"}],"note":{{Note}}}""", "occurredAt" },
        { "POST", "/api/v1/clients/{client}/sessions", $$"""{"nextSessionAt":"2026-03-03T10:00:00Z","actionItems":[{"what":"Make calls"}],"note":{{Note}}}""", "nextSessionAt" },
        { "POST", "/api/v1/clients/{client}/replies", """{}""", "rating" },
        { "POST", "/api/v1/clients/{client}/replies", """{"rating":6}""", "rating" },
        { "POST", "/api/v1/clients/{client}/replies", """{"rating":0}""", "rating" },
        { "POST", "/api/v1/clients/{client}/replies", """{"rating":3,"channel":"fax"}""", "channel" },
        { "POST", "/api/v1/clients/{client}/replies", "{\"text\":\"" + new string('x', 1601) + "\"}", "text" },
        { "GET", "/api/v1/touches?status=lost", "", "status" },
        { "GET", "/api/v1/touches?limit=0", "", "limit" },
        { "GET", "/api/v1/touches?channel=fax", "", "channel" },
        { "POST", "/api/v1/keys", """{"role":"operator"}""", "role" },
        { "POST", "/api/v1/keys", """{"role":"coach"}""", "coachId" },
        { "POST", "/api/v1/keys", """{"role":"coach","coachId":"coa_nope"}""", "coachId" },
        { "POST", "/api/v1/keys", """{"role":"org-admin","coachId":"{coach}"}""", "coachId" },
        { "POST", "/api/v1/keys", """{"role":"org-admin","expiresInDays":0}""", "expiresInDays" },
        { "POST", "/api/v1/keys", "{\"role\":\"org-admin\",\"label\":\"" + new string('x', 101) + "\"}", "label" },
        { "GET", "/api/v1/keys?role=root", "", "role" },
        { "GET", "/api/v1/keys?limit=0", "", "limit" },
        { "POST", "/api/v1/clients/{client}/links", """{"expiresInHours":0}""", "expiresInHours" },
        { "POST", "/api/v1/clients/{client}/links", """{"expiresInHours":721}""", "expiresInHours" },
        { "GET", "/api/v1/audit?limit=501", "", "limit" },
        { "GET", "/api/v1/audit?targetId=not%20an%20id", "", "targetId" },
        { "GET", "/api/v1/audit?action=DROP%20TABLE", "", "action" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task BadInputIsA400NamingTheFieldAndChangesNothing(string method, string path, string body, string field)
    {
        var before = await SnapshotAsync();
        var response = await SendAsync(method, path, body);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.ReadJsonAsync();
        var errors = problem["errors"]?.AsObject();
        Assert.True(errors is not null && errors.ContainsKey(field), $"expected an error for '{field}', got {problem.ToJsonString()}");
        Assert.Equal(before, await SnapshotAsync());
    }

    public static TheoryData<string, string, string> MalformedBodies => new()
    {
        { "POST", "/api/v1/coaches", "{\"name\": " },
        { "POST", "/api/v1/coaches", "[1,2,3]" },
        { "POST", "/api/v1/coaches", """{"name": 42, "timeZone": "UTC"}""" },
        { "POST", "/api/v1/clients/{client}/replies", """{"rating":"four"}""" },
        { "POST", "/api/v1/clients/{client}/replies", """{"rating":4.5}""" },
        { "POST", "/api/v1/clients/{client}/sessions", """{"actionItems":"call"}""" },
        { "POST", "/api/v1/cohorts", "not json at all" },
    };

    [Theory]
    [MemberData(nameof(MalformedBodies))]
    public async Task MalformedJsonIsA400ProblemNeverA500(string method, string path, string body)
    {
        var before = await SnapshotAsync();
        var response = await SendAsync(method, path, body);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(before, await SnapshotAsync());
    }

    public static TheoryData<string, string, string> UnknownIds => new()
    {
        { "GET", "/api/v1/coaches/coa_unknown", "" },
        { "GET", "/api/v1/coaches/coa_unknown/alerts", "" },
        { "PUT", "/api/v1/coaches/coa_unknown/availability", """{"availability":[]}""" },
        { "POST", "/api/v1/coaches/{coach}/alerts/a999/handle", "{}" },
        { "GET", "/api/v1/cohorts/coh_unknown", "" },
        { "GET", "/api/v1/cohorts/coh_unknown/dashboard", "" },
        { "GET", "/api/v1/cohorts/coh_unknown/clients", "" },
        { "POST", "/api/v1/cohorts/coh_unknown/activate", "" },
        { "POST", "/api/v1/cohorts/coh_unknown/end", "" },
        { "PUT", "/api/v1/cohorts/coh_unknown/program", $$"""{"program":{{Program}}}""" },
        { "POST", "/api/v1/cohorts/coh_unknown/clients", """{"name":"A","email":"a@example.com","timeZone":"UTC","preferredHour":9}""" },
        { "POST", "/api/v1/cohorts/coh_unknown/clients/bulk", """{"clients":[{"name":"A","email":"a@example.com","timeZone":"UTC","preferredHour":9}]}""" },
        { "GET", "/api/v1/clients/cli_unknown", "" },
        { "GET", "/api/v1/clients/cli_unknown/timeline", "" },
        { "POST", "/api/v1/clients/cli_unknown/sessions", $$"""{"actionItems":[{"what":"Make calls"}],"note":{{Note}}}""" },
        { "POST", "/api/v1/clients/cli_unknown/replies", """{"rating":4}""" },
        { "POST", "/api/v1/clients/cli_unknown/actions/s1-a1/complete", "" },
        { "POST", "/api/v1/clients/{client}/actions/s9-a9/complete", "" },
        { "POST", "/api/v1/clients/{client}/replies", """{"rating":4,"promptId":"s9-day5"}""" },
        { "POST", "/api/v1/clients/cli_unknown/pause", "" },
        { "POST", "/api/v1/clients/cli_unknown/resume", "" },
        { "POST", "/api/v1/clients/cli_unknown/end", "" },
        { "GET", "/api/v1/clients/..%2F..%2Fetc", "" },
        { "DELETE", "/api/v1/keys/key_unknown", "" },
        { "POST", "/api/v1/clients/cli_unknown/links", "{}" },
        { "DELETE", "/api/v1/clients/cli_unknown/links", "" },
        { "GET", "/api/v1/clients/cli_unknown/export", "" },
        { "DELETE", "/api/v1/clients/cli_unknown", "" },
    };

    [Theory]
    [MemberData(nameof(UnknownIds))]
    public async Task UnknownIdsAre404Problems(string method, string path, string body)
    {
        var before = await SnapshotAsync();
        var response = await SendAsync(method, path, body);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(before, await SnapshotAsync());
    }

    [Fact]
    public async Task RequestsWithoutAValidKeyAre401AndOrgKeysCannotCreateOrgs()
    {
        Assert.Equal(HttpStatusCode.Unauthorized, (await fx.Host.ClientWithKey(null).GetAsync("/api/v1/dashboard")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await fx.Host.ClientWithKey("cg_forged").GetAsync("/api/v1/dashboard")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await fx.Org.Api.PostAsJsonAsync("/api/v1/orgs", new { name = "x" })).StatusCode);
        // The operator key runs the service, it does not read an org's clients.
        Assert.Equal(HttpStatusCode.Forbidden, (await fx.Host.Operator().GetAsync("/api/v1/dashboard")).StatusCode);
    }

    [Fact]
    public async Task AnotherOrgCannotSeeOrChangeThisOrgsClient()
    {
        var other = await Org.CreateAsync(fx.Host);
        Assert.Equal(HttpStatusCode.NotFound, (await other.Api.GetAsync($"/api/v1/clients/{fx.ClientId}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await other.Api.PostAsJsonAsync($"/api/v1/clients/{fx.ClientId}/replies", new { rating = 1 })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await other.Api.GetAsync($"/api/v1/cohorts/{fx.Org.CohortId}/dashboard")).StatusCode);
        var touches = await other.Api.GetJsonAsync("/api/v1/touches");
        Assert.Empty(touches["touches"]!.AsArray());
    }

    private async Task<HttpResponseMessage> SendAsync(string method, string path, string body)
    {
        var url = path.Replace("{coach}", fx.Org.CoachId).Replace("{cohort}", fx.Org.CohortId).Replace("{client}", fx.ClientId);
        var request = new HttpRequestMessage(new HttpMethod(method), url);
        if (body.Length > 0)
            request.Content = Http.RawJson(body.Replace("{coach}", fx.Org.CoachId).Replace("{cohort}", fx.Org.CohortId).Replace("{client}", fx.ClientId));
        return await fx.Org.Api.SendAsync(request);
    }

    /// <summary>Every grain's version, every timer and outbox row, the org's keys and audit log: a refused request must leave all of it alone.</summary>
    private async Task<string> SnapshotAsync()
    {
        var grains = new List<string>();
        foreach (var type in new[] { "ClientLoop", "Coach", "Cohort", "Org" })
            grains.AddRange((await fx.Host.Store.QueryGrainsAsync(new Runtime.Storage.GrainQuery(fx.Org.OrgId, type), default)).Select(g => $"{g.Id}@{g.Version}"));
        var backlog = await fx.Host.Store.GetTimerBacklogAsync(fx.Host.Clock.GetUtcNow(), default);
        var outbox = await fx.Host.Store.QueryOutboxAsync(new Runtime.Storage.OutboxQuery(fx.Org.OrgId), default);
        var keys = await fx.Host.Store.ListApiKeysAsync(new Runtime.Storage.ApiKeyQuery(fx.Org.OrgId) { Limit = 1000 }, default);
        var audit = await fx.Host.Store.QueryAuditAsync(new Runtime.Storage.AuditQuery(fx.Org.OrgId) { Limit = 1000 }, default);
        return string.Join(",", grains.Order()) + $"|timers={backlog.Total}|outbox={outbox.Count}" +
            $"|keys={string.Join(",", keys.Select(k => k.KeyId + "@" + k.RevokedAt))}|audit={audit.Count}";
    }
}
