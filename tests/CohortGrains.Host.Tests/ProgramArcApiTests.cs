using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using CohortGrains.Domain.ClientLoops;
using CohortGrains.Host.Reflections;
using CohortGrains.Host.Tests.Infrastructure;
using CohortGrains.Runtime;
using Microsoft.Extensions.DependencyInjection;

namespace CohortGrains.Host.Tests;

/// <summary>Shared steps for the program-arc tests: cohorts of a chosen length, sessions on the fake clock.</summary>
public static class Arc
{
    /// <summary>Tue 2026-03-03 10:30 New York, just after the first Tuesday session.</summary>
    public static readonly DateTimeOffset FirstSession = new(2026, 3, 3, 15, 30, 0, TimeSpan.Zero);

    public static async Task<string> CohortAsync(Org org, int weeks, int intervalWeeks = 1, string? firstSessionDate = null, string name = "Short program")
    {
        var cohort = await org.Api.PostJsonAsync("/api/v1/cohorts", new
        {
            name,
            coachId = org.CoachId,
            program = new { weeks, intervalWeeks, firstSessionDate, sessionDay = "tuesday", sessionTime = "10:00", timeZone = "America/New_York" },
        }, 201);
        var id = cohort["cohortId"]!.GetValue<string>();
        await org.Api.PostJsonAsync($"/api/v1/cohorts/{id}/activate", new { }, 200);
        return id;
    }

    public static async Task<string> EnrolAsync(Org org, string cohortId, string name, string phone, string? email = null)
    {
        var client = await org.Api.PostJsonAsync($"/api/v1/cohorts/{cohortId}/clients", new
        {
            name, phone, email = email ?? name.Split(' ')[0].ToLowerInvariant() + "@example.com", timeZone = "America/New_York", preferredHour = 9, smsConsent = true,
        }, 201);
        return client["clientId"]!.GetValue<string>();
    }

    public static async Task<JsonArray> TouchesAsync(Org org, string clientId) =>
        (await org.Api.GetJsonAsync($"/api/v1/touches?clientId={clientId}"))["touches"]!.AsArray();

    public static async Task<JsonArray> TimelineAsync(Org org, string clientId) =>
        (await org.Api.GetJsonAsync($"/api/v1/clients/{clientId}/timeline")).AsArray();

    public static async Task<JsonObject> ProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return (await response.ReadJsonAsync()).AsObject();
    }

    public static async Task ExpectFieldErrorAsync(HttpResponseMessage response, string field)
    {
        var problem = await ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.True(problem["errors"]?.AsObject().ContainsKey(field) == true, $"expected an error for '{field}', got {problem.ToJsonString()}");
    }
}

public sealed class ReflectionApiTests : IDisposable
{
    private readonly TestHost _host = new();

    public void Dispose() => _host.Dispose();

    [Fact]
    public async Task ReflectionsFromThePortalAndFromReplyingToThePrepEmailReachTheCoachsTimeline()
    {
        var org = await Org.CreateAsync(_host);
        var clientId = await org.EnrolAsync();
        _host.Clock.SetUtcNow(Arc.FirstSession);
        await org.LogSessionAsync(clientId, "Make two prospecting calls");
        // Day 6 is Monday 9 March, 09:00 New York (13:00Z): the prep email goes out and invites a reply.
        await _host.AdvanceAsync(new DateTimeOffset(2026, 3, 9, 13, 15, 0, TimeSpan.Zero) - _host.Clock.GetUtcNow(), TimeSpan.FromHours(1));
        var prep = (await Arc.TouchesAsync(org, clientId)).Single(t => t!["template"]!.GetValue<string>() == "day6")!;
        Assert.EndsWith("Reply to this email with a short reflection: Maya Chen reads it before the call.", prep["body"]!.GetValue<string>());

        var portal = await org.Api.PostJsonAsync($"/api/v1/clients/{clientId}/reflections", new { text = "Asking directly felt easier than I feared." }, 201);
        Assert.Equal((1, "inapp"), (portal["session"]!.GetValue<int>(), portal["channel"]!.GetValue<string>()));
        // The inbound email path: the reply with its quoted original, filed against the prep email's session.
        var runtime = _host.Services.GetRequiredService<GrainRuntime>();
        var byEmail = await ReflectionsApi.SubmitEmailReplyAsync(runtime, org.OrgId, clientId, "s1-day6",
            "Both calls done, one yes!\n\nOn Mon, 9 Mar 2026 at 09:00, Maya Chen <maya@northstar.example> wrote:\n> Hi Ava, before our call", default);
        var stored = Assert.IsType<GrainCall<ClientLoopState>.Ok>(byEmail).State.Reflections[^1];
        Assert.Equal(("Both calls done, one yes!", 1, "s1-day6"), (stored.Text, stored.Session, stored.ReplyToTouchId));
        // The same through HTTP, for a path that posts instead of calling in-process.
        var posted = await org.Api.PostJsonAsync($"/api/v1/clients/{clientId}/reflections",
            new { text = "Also: pricing talk went fine\n> quoted", channel = "email", replyToTouchId = "s1-day6" }, 201);
        Assert.Equal("Also: pricing talk went fine", posted["text"]!.GetValue<string>());

        var timeline = await Arc.TimelineAsync(org, clientId);
        var reflections = timeline.Where(e => e!["kind"]!.GetValue<string>() == "reflection").ToList();
        Assert.Equal(3, reflections.Count);
        Assert.Contains(reflections, e => e!["summary"]!.GetValue<string>() == "Reflection on session 1: Both calls done, one yes!" && e["channel"]!.GetValue<string>() == "email");
        Assert.Equal(3, (await org.Api.GetJsonAsync($"/api/v1/clients/{clientId}/reflections")).AsArray().Count);
    }

    [Fact]
    public async Task BadReflectionsAreRefusedNamingTheField()
    {
        var org = await Org.CreateAsync(_host);
        var clientId = await org.EnrolAsync();
        var url = $"/api/v1/clients/{clientId}/reflections";

        // No session yet: a reflection has nothing to be tied to.
        await Arc.ProblemAsync(await org.Api.PostAsJsonAsync(url, new { text = "hello" }), HttpStatusCode.Conflict);
        _host.Clock.SetUtcNow(Arc.FirstSession);
        await org.LogSessionAsync(clientId, "Make two prospecting calls");

        await Arc.ExpectFieldErrorAsync(await org.Api.PostAsJsonAsync(url, new { text = " " }), "text");
        await Arc.ExpectFieldErrorAsync(await org.Api.PostAsJsonAsync(url, new { text = new string('x', 4001) }), "text");
        await Arc.ExpectFieldErrorAsync(await org.Api.PostAsJsonAsync(url, new { text = "x", session = 0 }), "session");
        await Arc.ExpectFieldErrorAsync(await org.Api.PostAsJsonAsync(url, new { text = "x", session = 4 }), "session");
        await Arc.ExpectFieldErrorAsync(await org.Api.PostAsJsonAsync(url, new { text = "x", channel = "fax" }), "channel");
        await Arc.ExpectFieldErrorAsync(await org.Api.PostAsJsonAsync(url, new { text = "x", replyToTouchId = "../x" }), "replyToTouchId");
        await Arc.ProblemAsync(await org.Api.PostAsJsonAsync(url, new { text = "x", replyToTouchId = "s9-day6" }), HttpStatusCode.NotFound);
        await Arc.ProblemAsync(await org.Api.PostAsJsonAsync("/api/v1/clients/cli_unknown/reflections", new { text = "x" }), HttpStatusCode.NotFound);
        await Arc.ProblemAsync(await org.Api.PostAsync(url, Http.RawJson("""{"text": 42}""")), HttpStatusCode.BadRequest);
        Assert.Empty((await org.Api.GetJsonAsync($"/api/v1/clients/{clientId}/reflections")).AsArray());
    }
}

public sealed class MidpointAndClosingApiTests : IDisposable
{
    private readonly TestHost _host = new();

    public void Dispose() => _host.Dispose();

    [Fact]
    public async Task TheMidpointCheckGoesOutAtHalfTheProgramAndItsAnswersReachTheCoachAndTheCohortSummary()
    {
        var org = await Org.CreateAsync(_host);
        var cohortId = await Arc.CohortAsync(org, weeks: 4);
        var ava = await Arc.EnrolAsync(org, cohortId, "Ava Brooks", "+14155550101");
        var ben = await Arc.EnrolAsync(org, cohortId, "Ben Costa", "+14155550102");
        _host.Clock.SetUtcNow(Arc.FirstSession);
        foreach (var c in new[] { ava, ben }) await org.LogSessionAsync(c, "Make two prospecting calls");
        await _host.AdvanceAsync(TimeSpan.FromDays(7), TimeSpan.FromHours(1));
        foreach (var c in new[] { ava, ben }) await org.LogSessionAsync(c, "Draft the pricing page");
        Assert.DoesNotContain(await Arc.TouchesAsync(org, ava), t => t!["template"]!.GetValue<string>() == "midpoint");

        // Session 2 of 4 was Tuesday 10 March: the midpoint check goes out Wednesday 09:00 New York (13:00Z).
        await _host.AdvanceAsync(new DateTimeOffset(2026, 3, 11, 13, 15, 0, TimeSpan.Zero) - _host.Clock.GetUtcNow());
        var midpoint = (await Arc.TouchesAsync(org, ava)).Single(t => t!["template"]!.GetValue<string>() == "midpoint")!;
        Assert.Equal(("email", "ava@example.com", "Halfway there: five quick questions"),
            (midpoint["channel"]!.GetValue<string>(), midpoint["recipient"]!.GetValue<string>(), midpoint["subject"]!.GetValue<string>()));
        Assert.Contains("What should we adjust?", midpoint["body"]!.GetValue<string>());
        Assert.Equal(new DateTimeOffset(2026, 3, 11, 13, 0, 0, TimeSpan.Zero), midpoint["createdAt"]!.GetValue<DateTimeOffset>());

        var answered = await org.Api.PostJsonAsync($"/api/v1/clients/{ava}/feedback/midpoint", new
        {
            answers = new Dictionary<string, string> { ["mostUseful"] = "The Day-5 check", ["adjust"] = "Fewer texts on weekends", ["focus"] = "Delegation" },
        }, 200);
        Assert.Equal(["mostUseful", "adjust", "focus"], answered["answers"]!.AsArray().Select(a => a!["key"]!.GetValue<string>()));
        Assert.Equal("What should we adjust?", answered["answers"]![1]!["question"]!.GetValue<string>());

        // The coach sees it in the client's timeline...
        var timeline = await Arc.TimelineAsync(org, ava);
        var feedback = Assert.Single(timeline, e => e!["kind"]!.GetValue<string>() == "midpoint-feedback")!;
        Assert.Contains("What should we adjust? Fewer texts on weekends", feedback["summary"]!.GetValue<string>());
        // ...and in the cohort's midpoint summary, with who has not answered yet.
        var summary = await org.Api.GetJsonAsync($"/api/v1/cohorts/{cohortId}/midpoint");
        Assert.Equal((2, 2, 2, 1, 0.5), (summary["midpointSession"]!.GetValue<int>(), summary["clients"]!.GetValue<int>(), summary["sent"]!.GetValue<int>(),
            summary["answered"]!.GetValue<int>(), summary["responseRate"]!.GetValue<double>()));
        var adjust = summary["questions"]!.AsArray().Single(q => q!["key"]!.GetValue<string>() == "adjust")!;
        Assert.Equal("Fewer texts on weekends", Assert.Single(adjust["answers"]!.AsArray())!["text"]!.GetValue<string>());
        Assert.Equal(ben, Assert.Single(summary["notAnswered"]!.AsArray())!["clientId"]!.GetValue<string>());
    }

    [Fact]
    public async Task TheClosingReflectionIsSentAtTheLastSessionAndBecomesTheProgramSummary()
    {
        var org = await Org.CreateAsync(_host);
        var cohortId = await Arc.CohortAsync(org, weeks: 2);
        var ava = await Arc.EnrolAsync(org, cohortId, "Ava Brooks", "+14155550101");
        _host.Clock.SetUtcNow(Arc.FirstSession);
        await org.LogSessionAsync(ava, "Make two prospecting calls");
        await _host.AdvanceAsync(TimeSpan.FromDays(2), TimeSpan.FromHours(1));
        await org.Api.PostJsonAsync($"/api/v1/clients/{ava}/replies", new { text = "4 one call done", channel = "sms" }, 200);
        await org.Api.PostJsonAsync($"/api/v1/clients/{ava}/actions/s1-a1/complete", new { }, 200);
        await _host.AdvanceAsync(TimeSpan.FromDays(5), TimeSpan.FromHours(1));
        Assert.DoesNotContain(await Arc.TouchesAsync(org, ava), t => t!["template"]!.GetValue<string>() == "closing");

        await org.LogSessionAsync(ava, "Ask for the referral");
        await _host.PumpAsync();

        var closing = (await Arc.TouchesAsync(org, ava)).Single(t => t!["template"]!.GetValue<string>() == "closing")!;
        Assert.Contains("What remains unfinished?", closing["body"]!.GetValue<string>());
        await org.Api.PostJsonAsync($"/api/v1/clients/{ava}/feedback/closing", new
        {
            answers = new Dictionary<string, string> { ["startingChallenge"] = "Avoiding sales calls", ["canDoNow"] = "Ask for the sale" },
            channel = "email",
        }, 200);

        var summary = await org.Api.GetJsonAsync($"/api/v1/clients/{ava}/summary");
        Assert.Equal((2, 2, 2, 1, 0.5), (summary["sessionsHeld"]!.GetValue<int>(), summary["sessionsPlanned"]!.GetValue<int>(),
            summary["actionsTotal"]!.GetValue<int>(), summary["actionsDone"]!.GetValue<int>(), summary["actionCompletionRate"]!.GetValue<double>()));
        Assert.Equal(4.0, summary["sessions"]![0]!["averageRating"]!.GetValue<double>());
        var answers = summary["closing"]!["answers"]!.AsArray();
        Assert.Equal(["When we started, what was the main challenge?", "What can you now do that was harder before?"],
            answers.Select(a => a!["question"]!.GetValue<string>()));
        Assert.Null(summary["midpoint"]);
        Assert.Contains(await Arc.TimelineAsync(org, ava), e => e!["kind"]!.GetValue<string>() == "closing-reflection");
    }

    public static TheoryData<string, string, string> BadFeedback => new()
    {
        { "midpoint", """{}""", "answers" },
        { "midpoint", """{"answers":{}}""", "answers" },
        { "midpoint", """{"answers":{"adjust":"  "}}""", "answers" },
        { "midpoint", """{"answers":{"bogus":"x"}}""", "answers.bogus" },
        { "midpoint", """{"answers":{"learned":"x"}}""", "answers.learned" },
        { "closing", """{"answers":{"adjust":"x"}}""", "answers.adjust" },
        { "midpoint", "{\"answers\":{\"adjust\":\"" + new string('x', 2001) + "\"}}", "answers.adjust" },
        { "midpoint", """{"answers":{"adjust":"x"},"channel":"pigeon"}""", "channel" },
    };

    [Theory]
    [MemberData(nameof(BadFeedback))]
    public async Task BadAnswersAreA400NamingTheField(string kind, string body, string field)
    {
        var org = await Org.CreateAsync(_host);
        var clientId = await org.EnrolAsync();

        await Arc.ExpectFieldErrorAsync(await org.Api.PostAsync($"/api/v1/clients/{clientId}/feedback/{kind}", Http.RawJson(body)), field);
        Assert.Empty((await org.Api.GetJsonAsync($"/api/v1/clients/{clientId}"))["sessions"]!.AsArray());
        Assert.Null((await org.Api.GetJsonAsync($"/api/v1/clients/{clientId}/summary"))["midpoint"]);
    }

    [Fact]
    public async Task TheQuestionsAreServedForThePortal()
    {
        var org = await Org.CreateAsync(_host);

        var questions = await org.Api.GetJsonAsync("/api/v1/program-arc/questions");

        Assert.Equal(5, questions["midpoint"]!.AsArray().Count);
        Assert.Equal("What support do you need next?", questions["closing"]!.AsArray()[^1]!["text"]!.GetValue<string>());
    }
}

public sealed class CommunicationNormsApiTests : IDisposable
{
    private readonly TestHost _host = new();

    public void Dispose() => _host.Dispose();

    [Fact]
    public async Task TheCoachsNormsOpenTheProgramAndShowInThePortal()
    {
        var org = await Org.CreateAsync(_host);
        var norms = await org.Api.PutAsJsonAsync($"/api/v1/coaches/{org.CoachId}/norms", new
        {
            channels = new[] { "email", "inapp", "email" },
            responseHours = 24,
            includedSupport = "brief reflections by email; one 15-minute call if you are stuck",
            notIncluded = "real-time coaching between calls",
        });
        await Http.ExpectAsync(norms, 200);
        var text = (await norms.ReadJsonAsync())["norms"]!["text"]!.GetValue<string>();
        Assert.Equal("You can reach Maya Chen between sessions by email and the portal; expect a reply within 24 hours. " +
            "Included between sessions: brief reflections by email; one 15-minute call if you are stuck. Not included: real-time coaching between calls.", text);

        // Enrolled at 04:00 New York (EST): the welcome waits for the end of quiet hours, 08:00 = 13:00Z.
        var clientId = await org.EnrolAsync();
        await _host.PumpAsync();
        Assert.Empty(await Arc.TouchesAsync(org, clientId));
        await _host.AdvanceAsync(TimeSpan.FromHours(4.25));

        var welcome = Assert.Single(await Arc.TouchesAsync(org, clientId))!;
        Assert.Equal(new DateTimeOffset(2026, 3, 2, 13, 0, 0, TimeSpan.Zero), welcome["createdAt"]!.GetValue<DateTimeOffset>());
        Assert.Equal(("welcome", "email", "ava@example.com"),
            (welcome["template"]!.GetValue<string>(), welcome["channel"]!.GetValue<string>(), welcome["recipient"]!.GetValue<string>()));
        Assert.Contains(text, welcome["body"]!.GetValue<string>());

        var portal = await org.Api.GetJsonAsync($"/api/v1/clients/{clientId}/portal");
        Assert.Equal(text, portal["coach"]!["norms"]!["text"]!.GetValue<string>());
        Assert.Equal(["email", "inapp"], portal["coach"]!["norms"]!["channels"]!.AsArray().Select(c => c!.GetValue<string>()));
        Assert.False(portal["midpointOpen"]!.GetValue<bool>());
        Assert.Equal(text, (await org.Api.GetJsonAsync($"/api/v1/coaches/{org.CoachId}/norms"))["norms"]!["text"]!.GetValue<string>());
    }

    [Fact]
    public async Task WithoutNormsNoWelcomeIsSentAndThePortalSaysSo()
    {
        var org = await Org.CreateAsync(_host);
        var clientId = await org.EnrolAsync();
        await _host.PumpAsync();

        Assert.Empty(await Arc.TouchesAsync(org, clientId));
        var portal = await org.Api.GetJsonAsync($"/api/v1/clients/{clientId}/portal");
        Assert.Null(portal["coach"]!["norms"]);
        Assert.Equal("Maya Chen", portal["coach"]!["name"]!.GetValue<string>());
    }

    public static TheoryData<string, string> BadNorms => new()
    {
        { """{"responseHours":24,"includedSupport":"x"}""", "channels" },
        { """{"channels":[],"responseHours":24,"includedSupport":"x"}""", "channels" },
        { """{"channels":["fax"],"responseHours":24,"includedSupport":"x"}""", "channels[0]" },
        { """{"channels":["email"],"responseHours":0,"includedSupport":"x"}""", "responseHours" },
        { """{"channels":["email"],"responseHours":169,"includedSupport":"x"}""", "responseHours" },
        { """{"channels":["email"],"responseHours":24}""", "includedSupport" },
        { "{\"channels\":[\"email\"],\"responseHours\":24,\"includedSupport\":\"x\",\"notIncluded\":\"" + new string('x', 501) + "\"}", "notIncluded" },
    };

    [Theory]
    [MemberData(nameof(BadNorms))]
    public async Task BadNormsAreA400NamingTheField(string body, string field)
    {
        var org = await Org.CreateAsync(_host);

        await Arc.ExpectFieldErrorAsync(await org.Api.PutAsync($"/api/v1/coaches/{org.CoachId}/norms", Http.RawJson(body)), field);
        Assert.Null((await org.Api.GetJsonAsync($"/api/v1/coaches/{org.CoachId}/norms"))["norms"]);
    }

    [Fact]
    public async Task UnknownCoachesAndClientsAre404()
    {
        var org = await Org.CreateAsync(_host);

        await Arc.ProblemAsync(await org.Api.GetAsync("/api/v1/coaches/coa_unknown/norms"), HttpStatusCode.NotFound);
        await Arc.ProblemAsync(await org.Api.PutAsync("/api/v1/coaches/coa_unknown/norms", Http.RawJson("""{"channels":["email"],"responseHours":24,"includedSupport":"x"}""")), HttpStatusCode.NotFound);
        await Arc.ProblemAsync(await org.Api.GetAsync("/api/v1/clients/cli_unknown/portal"), HttpStatusCode.NotFound);
        await Arc.ProblemAsync(await org.Api.GetAsync("/api/v1/clients/cli_unknown/summary"), HttpStatusCode.NotFound);
        await Arc.ProblemAsync(await org.Api.GetAsync("/api/v1/cohorts/coh_unknown/midpoint"), HttpStatusCode.NotFound);
        // Another org's coach is simply not there.
        var other = await Org.CreateAsync(_host);
        await Arc.ProblemAsync(await other.Api.GetAsync($"/api/v1/coaches/{org.CoachId}/norms"), HttpStatusCode.NotFound);
    }
}
