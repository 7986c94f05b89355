using System.Net;
using System.Net.Http.Json;
using CohortGrains.Host.Tests.Infrastructure;

namespace CohortGrains.Host.Tests;

/// <summary>Biweekly programs, group sessions with shared items, and ending early counted as mid-program churn.</summary>
public sealed class ProgramsBeyondWeeklyApiTests : IDisposable
{
    private readonly TestHost _host = new();

    public void Dispose() => _host.Dispose();

    private static readonly object Note = new { focus = "Team rhythm", insight = "Retros slip", agreedAction = "Run one", obstacle = "Time", followUp = "How it went" };

    [Fact]
    public async Task ABiweeklyCohortGetsTheStretchedCadenceAndItsNextSessionTwoWeeksOn()
    {
        var org = await Org.CreateAsync(_host);
        var cohortId = await Arc.CohortAsync(org, weeks: 8, intervalWeeks: 2, firstSessionDate: "2026-03-03");
        var cohort = await org.Api.GetJsonAsync($"/api/v1/cohorts/{cohortId}");
        Assert.Equal(["day2", "day5", "day9", "day12", "day13"], cohort["program"]!["cadence"]!.AsArray().Select(t => t!["key"]!.GetValue<string>()));
        Assert.Equal("2026-03-03", cohort["program"]!["firstSessionDate"]!.GetValue<string>());
        var ava = await Arc.EnrolAsync(org, cohortId, "Ava Brooks", "+14155550101");

        // Logged a day late (Wednesday): the next session is still Tuesday 17 March, 10:00 New York (14:00Z, after DST).
        _host.Clock.SetUtcNow(new DateTimeOffset(2026, 3, 4, 15, 0, 0, TimeSpan.Zero));
        var logged = await org.Api.PostJsonAsync($"/api/v1/clients/{ava}/sessions", new
        {
            occurredAt = Arc.FirstSession,
            actionItems = new[] { new { what = "Make two prospecting calls" } },
            note = Note,
        }, 201);
        Assert.Equal(new DateTimeOffset(2026, 3, 17, 14, 0, 0, TimeSpan.Zero), logged["session"]!["nextSessionAt"]!.GetValue<DateTimeOffset>());

        // The second week has its own check-ins; prep comes on Monday 16th, the day before the real next session.
        await _host.AdvanceAsync(new DateTimeOffset(2026, 3, 17, 13, 0, 0, TimeSpan.Zero) - _host.Clock.GetUtcNow(), TimeSpan.FromHours(1));
        var touches = (await Arc.TouchesAsync(org, ava)).Select(t => (t!["template"]!.GetValue<string>(), t["createdAt"]!.GetValue<DateTimeOffset>().ToString("MM-dd"))).Reverse();
        Assert.Contains(("day9", "03-12"), touches);
        Assert.Contains(("day13", "03-16"), touches);
    }

    [Fact]
    public async Task AFirstSessionDateOffTheSessionDayIsA400()
    {
        var org = await Org.CreateAsync(_host);

        var response = await org.Api.PostAsJsonAsync("/api/v1/cohorts", new
        {
            name = "Biweekly",
            coachId = org.CoachId,
            program = new { intervalWeeks = 2, firstSessionDate = "2026-03-04", sessionDay = "tuesday", sessionTime = "10:00", timeZone = "America/New_York" },
        });

        await Arc.ExpectFieldErrorAsync(response, "program.firstSessionDate");
        await Arc.ExpectFieldErrorAsync(await org.Api.PostAsJsonAsync("/api/v1/cohorts", new
        {
            name = "Biweekly", coachId = org.CoachId,
            program = new { firstSessionDate = "next tuesday", sessionDay = "tuesday", sessionTime = "10:00", timeZone = "America/New_York" },
        }), "program.firstSessionDate");
    }

    [Fact]
    public async Task AGroupSessionLogsTheSameItemsForEveryActiveClientOnce()
    {
        var org = await Org.CreateAsync(_host);
        var ava = await org.EnrolAsync("Ava Brooks", "+14155550101");
        var ben = await org.EnrolAsync("Ben Costa", "+14155550102");
        var cy = await org.EnrolAsync("Cy Diaz", "+14155550103");
        var dee = await org.EnrolAsync("Dee Evans", "+14155550104");
        await org.Api.PostJsonAsync($"/api/v1/clients/{cy}/pause", new { }, 200);
        await org.Api.PostJsonAsync($"/api/v1/clients/{dee}/end", new { }, 200);
        _host.Clock.SetUtcNow(Arc.FirstSession);
        var body = new
        {
            requestId = "retro-week-1",
            actionItems = new[] { new { what = "Run the team retro by Friday", notice = "who speaks first" } },
            note = Note,
        };

        var response = await org.Api.PostAsJsonAsync($"/api/v1/cohorts/{org.CohortId}/group-sessions", body);
        await Http.ExpectAsync(response, 202);
        var group = await response.ReadJsonAsync();
        await _host.PumpAsync();
        // Retried by a flaky network: nothing is logged twice.
        await Http.ExpectAsync(await org.Api.PostAsJsonAsync($"/api/v1/cohorts/{org.CohortId}/group-sessions", body), 202);
        await _host.PumpAsync();

        Assert.Equal(("grp_retro-week-1", 2), (group["groupSessionId"]!.GetValue<string>(), group["clients"]!.GetValue<int>()));
        Assert.Equal([(dee, "done"), (cy, "paused")], group["skipped"]!.AsArray().Select(s => (s!["clientId"]!.GetValue<string>(), s["status"]!.GetValue<string>())).OrderBy(s => s.Item2));
        foreach (var id in new[] { ava, ben })
        {
            var client = await org.Api.GetJsonAsync($"/api/v1/clients/{id}");
            var session = Assert.Single(client["sessions"]!.AsArray())!;
            Assert.Equal("Run the team retro by Friday", session["actionItems"]![0]!["what"]!.GetValue<string>());
            Assert.Contains(await Arc.TimelineAsync(org, id), e => e!["summary"]!.GetValue<string>() == "Group session 1: Run the team retro by Friday");
        }
        foreach (var id in new[] { cy, dee }) Assert.Empty((await org.Api.GetJsonAsync($"/api/v1/clients/{id}"))["sessions"]!.AsArray());
        // Each active client's own cadence started: Thursday 09:00 New York both get their Day-2 nudge, the paused client none.
        await _host.AdvanceAsync(new DateTimeOffset(2026, 3, 5, 14, 15, 0, TimeSpan.Zero) - _host.Clock.GetUtcNow(), TimeSpan.FromHours(1));
        foreach (var id in new[] { ava, ben }) Assert.Single(await Arc.TouchesAsync(org, id), t => t!["template"]!.GetValue<string>() == "day2");
        Assert.Empty(await Arc.TouchesAsync(org, cy));
    }

    [Fact]
    public async Task GroupSessionsRefuseBadInputAndCohortsWithNobodyActive()
    {
        var org = await Org.CreateAsync(_host);
        var url = $"/api/v1/cohorts/{org.CohortId}/group-sessions";
        var good = new { actionItems = new[] { new { what = "Run the retro" } }, note = Note };

        await Arc.ProblemAsync(await org.Api.PostAsJsonAsync(url, good), HttpStatusCode.Conflict); // nobody enrolled
        await org.EnrolAsync();
        await Arc.ExpectFieldErrorAsync(await org.Api.PostAsJsonAsync(url, new { actionItems = Array.Empty<object>(), note = Note }), "actionItems");
        await Arc.ExpectFieldErrorAsync(await org.Api.PostAsJsonAsync(url, new { actionItems = new[] { new { what = "x" } } }), "note");
        await Arc.ExpectFieldErrorAsync(await org.Api.PostAsJsonAsync(url, new { requestId = "no/slashes", good.actionItems, note = Note }), "requestId");
        await Arc.ExpectFieldErrorAsync(await org.Api.PostAsJsonAsync(url, new { occurredAt = "2030-01-01T00:00:00Z", good.actionItems, note = Note }), "occurredAt");
        await Arc.ProblemAsync(await org.Api.PostAsJsonAsync("/api/v1/cohorts/coh_unknown/group-sessions", good), HttpStatusCode.NotFound);
        var draft = await Org.CreateAsync(_host, activate: false);
        await draft.EnrolAsync();
        await Arc.ProblemAsync(await draft.Api.PostAsJsonAsync($"/api/v1/cohorts/{draft.CohortId}/group-sessions", good), HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task EndingEarlyCountsInMidProgramChurnAndCompletingDoesNot()
    {
        var org = await Org.CreateAsync(_host);
        var clients = new List<string>();
        for (var i = 0; i < 4; i++) clients.Add(await org.EnrolAsync($"Client {i}", $"+1415555011{i}"));

        await org.Api.PostJsonAsync($"/api/v1/clients/{clients[0]}/end", new { }, 200);
        var dashboard = await org.Api.GetJsonAsync($"/api/v1/cohorts/{org.CohortId}/dashboard");
        Assert.Equal((1, 0.25), (dashboard["endedEarly"]!.GetValue<int>(), dashboard["midProgramChurnRate"]!.GetValue<double>()));
        Assert.Contains(await Arc.TimelineAsync(org, clients[0]), e => e!["kind"]!.GetValue<string>() == "ended-early");

        // Pausing is a holiday, not churn; the cohort completing is not churn either.
        await org.Api.PostJsonAsync($"/api/v1/clients/{clients[1]}/pause", new { }, 200);
        await org.Api.PostJsonAsync($"/api/v1/cohorts/{org.CohortId}/end", new { }, 200);
        await _host.PumpAsync();
        dashboard = await org.Api.GetJsonAsync($"/api/v1/cohorts/{org.CohortId}/dashboard");
        Assert.Equal((4, 1, 0.25), (dashboard["byStatus"]!["done"]!.GetValue<int>(), dashboard["endedEarly"]!.GetValue<int>(), dashboard["midProgramChurnRate"]!.GetValue<double>()));
    }
}
