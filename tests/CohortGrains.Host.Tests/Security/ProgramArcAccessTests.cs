using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using CohortGrains.Host.Tests.Infrastructure;

namespace CohortGrains.Host.Tests.Security;

/// <summary>
/// The program arc's endpoints under the access rules, from the side the isolation tests do not see: the callers who
/// may use them can (a client through their own link, a coach on their own side, an org admin), the audit log says who
/// did it, and what a coach sees of org-wide figures is their own cohorts'.
/// </summary>
public sealed class ProgramArcAccessTests : IAsyncLifetime
{
    private readonly TestHost _host = new();
    private SecurityWorld _world = null!;

    public async Task InitializeAsync() => _world = await SecurityWorld.CreateAsync(_host);

    public Task DisposeAsync()
    {
        _host.Dispose();
        return Task.CompletedTask;
    }

    private async Task<JsonArray> AuditAsync(string targetId) =>
        (await _world.As(_world.VictimAdminKey).GetJsonAsync($"/api/v1/audit?targetId={targetId}"))["entries"]!.AsArray();

    private static async Task<JsonNode> PutJsonAsync(HttpClient client, string url, object body, int expectedStatus)
    {
        var response = await client.PutAsJsonAsync(url, body);
        await Http.ExpectAsync(response, expectedStatus);
        return await response.ReadJsonAsync();
    }

    private static JsonNode Entry(JsonArray entries, string action) =>
        entries.FirstOrDefault(e => e!["action"]!.GetValue<string>() == action) ?? throw new Xunit.Sdk.XunitException($"no '{action}' entry in {entries.ToJsonString()}");

    [Fact]
    public async Task TheClientsOwnLinkWritesAndReadsTheirReflectionsAndAnswersButNoStaffView()
    {
        var me = _world.As(_world.ClientA1Link);
        var a1 = _world.ClientA1;

        var reflection = await me.PostJsonAsync($"/api/v1/clients/{a1}/reflections", new { text = "Asking directly felt easier the second time", channel = "inapp" }, 201);
        var answers = await me.PostJsonAsync($"/api/v1/clients/{a1}/feedback/midpoint", new { answers = new Dictionary<string, string> { ["mostUseful"] = "The calls" } }, 200);
        Assert.Equal("midpoint", answers["kind"]!.GetValue<string>());
        Assert.NotNull((await me.GetJsonAsync("/api/v1/program-arc/questions"))["midpoint"]);
        var listed = await me.GetJsonAsync($"/api/v1/clients/{a1}/reflections");
        Assert.Equal(reflection["reflectionId"]!.GetValue<string>(), listed[0]!["reflectionId"]!.GetValue<string>());
        var portal = await me.GetJsonAsync($"/api/v1/clients/{a1}/portal");
        Assert.Equal(a1, portal["clientId"]!.GetValue<string>());
        Assert.Equal("The calls", (await me.GetJsonAsync($"/api/v1/clients/{a1}/summary"))["midpoint"]!["answers"]![0]!["text"]!.GetValue<string>());
        // Their coach reads what they wrote.
        Assert.Single((await _world.As(_world.CoachAKey).GetJsonAsync($"/api/v1/clients/{a1}/reflections")).AsArray());

        // The staff's views of the cohort and the coach stay staff's, even for the cohort's own client.
        Assert.Equal(HttpStatusCode.Forbidden, (await me.GetAsync($"/api/v1/cohorts/{_world.CohortA}/midpoint")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await me.GetAsync($"/api/v1/coaches/{_world.CoachA}/norms")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await me.GetAsync($"/api/v1/cohorts/{_world.CohortA}/roster.csv")).StatusCode);

        // Audited as the client's own doing, with codes, not words.
        var audit = await AuditAsync(a1);
        foreach (var action in new[] { "reflection.recorded", "midpoint.answered" })
        {
            var entry = Entry(audit, action);
            Assert.Equal(("client", a1), (entry["actorRole"]!.GetValue<string>(), entry["actorId"]!.GetValue<string>()));
        }
        Assert.DoesNotContain("Asking directly", audit.ToJsonString(), StringComparison.Ordinal);
        Assert.DoesNotContain("The calls", audit.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ACoachChangesOnlyTheirOwnSettingsAndEveryChangeIsAudited()
    {
        var coachA = _world.As(_world.CoachAKey);
        var norms = new { channels = new[] { "email" }, responseHours = 24, includedSupport = "Quick questions between sessions" };

        await PutJsonAsync(coachA, $"/api/v1/coaches/{_world.CoachA}/norms", norms, 200);
        await PutJsonAsync(coachA, $"/api/v1/coaches/{_world.CoachA}/digest", new { hour = 7 }, 200);
        // Another coach's settings are not found, with a valid body or without one.
        Assert.Equal(HttpStatusCode.NotFound, (await coachA.PutAsJsonAsync($"/api/v1/coaches/{_world.CoachB}/norms", norms)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await coachA.RawAsync("PUT", $"/api/v1/coaches/{_world.CoachB}/digest", "{}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await coachA.GetAsync($"/api/v1/coaches/{_world.CoachB}/digest")).StatusCode);
        // An org admin may set anyone's.
        await PutJsonAsync(_world.As(_world.VictimAdminKey), $"/api/v1/coaches/{_world.CoachB}/digest", new { hour = 8, enabled = false }, 200);

        var a = await AuditAsync(_world.CoachA);
        Assert.Equal(("coach", _world.CoachA), (Entry(a, "coach.norms-changed")["actorRole"]!.GetValue<string>(), Entry(a, "coach.norms-changed")["actorId"]!.GetValue<string>()));
        Assert.Equal("hour 7", Entry(a, "coach.digest-changed")["detail"]!.GetValue<string>());
        var b = await AuditAsync(_world.CoachB);
        Assert.Equal("org-admin", Entry(b, "coach.digest-changed")["actorRole"]!.GetValue<string>());
        Assert.DoesNotContain(b, e => e!["action"]!.GetValue<string>() == "coach.norms-changed");
    }

    [Fact]
    public async Task CohortWorkIsTheCohortsCoachsAndIsAudited()
    {
        var coachA = _world.As(_world.CoachAKey);
        var coachB = _world.As(_world.CoachBKey);
        var session = new
        {
            requestId = "wk2-group",
            actionItems = new[] { new { what = "Draft the pricing page", byWhen = "2026-03-09", notice = "what felt hard" } },
            note = new { focus = "Pricing", insight = "Anchors low", agreedAction = "Draft it", obstacle = "Time", followUp = "Review draft" },
        };

        Assert.Equal(HttpStatusCode.NotFound, (await coachB.PostAsJsonAsync($"/api/v1/cohorts/{_world.CohortA}/group-sessions", session)).StatusCode);
        await coachA.PostJsonAsync($"/api/v1/cohorts/{_world.CohortA}/group-sessions", session, 202);
        await PutJsonAsync(coachA, $"/api/v1/cohorts/{_world.CohortA}/templates/day2", new { template = "Hi {firstName}: started on {firstCommitment}?" }, 200);
        var roster = await coachA.GetAsync($"/api/v1/cohorts/{_world.CohortA}/roster.csv");
        Assert.Equal(HttpStatusCode.OK, roster.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await coachA.GetAsync($"/api/v1/cohorts/{_world.CohortA}/report.html")).StatusCode);
        // A preview renders one of the cohort's own clients only.
        var preview = await coachA.PostJsonAsync($"/api/v1/cohorts/{_world.CohortA}/templates/preview", new { clientId = _world.ClientA1, key = "day2" }, 200);
        Assert.Contains("Victima", preview["text"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, (await coachA.PostAsJsonAsync($"/api/v1/cohorts/{_world.CohortA}/templates/preview", new { clientId = _world.ClientB1, key = "day2" })).StatusCode);

        var audit = await AuditAsync(_world.CohortA);
        Assert.Equal("grp_wk2-group: 1 client(s), 1 action item(s)", Entry(audit, "group-session.logged")["detail"]!.GetValue<string>());
        Assert.Equal("day2", Entry(audit, "cohort.template-changed")["detail"]!.GetValue<string>());
        Assert.Equal("1 client(s)", Entry(audit, "roster.exported")["detail"]!.GetValue<string>());
        Assert.Equal(_world.CoachA, Entry(audit, "report.exported")["actorId"]!.GetValue<string>());
        Assert.DoesNotContain("Victima", audit.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task OrgWideFiguresShowACoachOnlyTheirOwnCohorts()
    {
        // Both cohorts send their Day-2 nudge, so both have template figures.
        await _world.As(_world.CoachBKey).PostJsonAsync($"/api/v1/clients/{_world.ClientB1}/sessions", new
        {
            actionItems = new[] { new { what = "Call two prospects", byWhen = (string?)null, notice = "how it felt" } },
            note = new { focus = "Pipeline", insight = "Waits", agreedAction = "Two calls", obstacle = "Busy", followUp = "Review" },
        }, 201);
        await _host.AdvanceAsync(new DateTimeOffset(2026, 3, 5, 15, 0, 0, TimeSpan.Zero) - _host.Clock.GetUtcNow());

        static IEnumerable<string> Cohorts(JsonNode analytics) => analytics["cohorts"]!.AsArray().Select(c => c!["cohortId"]!.GetValue<string>());
        var all = await _world.As(_world.VictimAdminKey).GetJsonAsync("/api/v1/analytics/templates");
        Assert.Equal(new[] { _world.CohortA, _world.CohortB }.Order(), Cohorts(all).Order());
        var own = await _world.As(_world.CoachBKey).GetJsonAsync("/api/v1/analytics/templates");
        Assert.Equal([_world.CohortB], Cohorts(own));
        // The per-template totals stay the org's benchmark.
        Assert.Equal(all["templates"]!.ToJsonString(), own["templates"]!.ToJsonString());

        var adminCsv = await (await _world.As(_world.VictimAdminKey).GetAsync("/api/v1/exports/metrics.csv")).Content.ReadAsStringAsync();
        var coachCsv = await (await _world.As(_world.CoachBKey).GetAsync("/api/v1/exports/metrics.csv")).Content.ReadAsStringAsync();
        Assert.Contains(_world.CohortA, adminCsv, StringComparison.Ordinal);
        Assert.Contains(_world.CohortB, coachCsv, StringComparison.Ordinal);
        Assert.DoesNotContain(_world.CohortA, coachCsv, StringComparison.Ordinal);
    }

    [Fact]
    public async Task IntegrationsAreTheOrgAdminsAndTheirChangesAreAuditedWithoutSecrets()
    {
        var coach = _world.As(_world.CoachAKey);
        Assert.Equal(HttpStatusCode.Forbidden, (await coach.GetAsync("/api/v1/integrations")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await coach.PostAsync("/api/v1/integrations/inbound-secret", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await coach.GetAsync("/api/v1/webhooks/endpoints")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden,
            (await coach.PostAsJsonAsync("/api/v1/webhooks/endpoints", new { url = "https://hooks.example.com/cg", events = new[] { "client.stuck" } })).StatusCode);

        var admin = _world.As(_world.VictimAdminKey);
        var secret = (await admin.PostJsonAsync("/api/v1/integrations/inbound-secret", new { }, 201))["secret"]!.GetValue<string>();
        var endpoint = await admin.PostJsonAsync("/api/v1/webhooks/endpoints", new { url = "https://hooks.example.com/cg", events = new[] { "client.stuck" } }, 201);
        var endpointId = endpoint["endpointId"]!.GetValue<string>();
        var removed = await admin.DeleteAsync($"/api/v1/webhooks/endpoints/{endpointId}");
        await Http.ExpectAsync(removed, 200);

        var log = (await admin.GetJsonAsync("/api/v1/audit?limit=20"))["entries"]!.AsArray();
        Assert.Equal(_world.VictimOrgId, Entry(log, "integrations.inbound-secret-rotated")["targetId"]!.GetValue<string>());
        Assert.Equal("client.stuck", Entry(log, "webhook.endpoint-added")["detail"]!.GetValue<string>());
        Assert.Equal(endpointId, Entry(log, "webhook.endpoint-removed")["targetId"]!.GetValue<string>());
        Assert.DoesNotContain(secret, log.ToJsonString(), StringComparison.Ordinal);
        Assert.DoesNotContain(endpoint["secret"]!.GetValue<string>(), log.ToJsonString(), StringComparison.Ordinal);
        Assert.DoesNotContain("hooks.example.com", log.ToJsonString(), StringComparison.Ordinal);
    }
}
