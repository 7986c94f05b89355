using System.Net;
using System.Net.Http.Json;
using CohortGrains.Host.Tests.Infrastructure;

namespace CohortGrains.Host.Tests;

/// <summary>One digest email per coach before each session day, at the coach's hour, listing who is stuck, silent or late.</summary>
public sealed class CoachDigestApiTests : IDisposable
{
    private readonly TestHost _host = new();

    public CoachDigestApiTests() => _host.Settings["PublicBaseUrl"] = "https://app.northstar.example";

    public void Dispose() => _host.Dispose();

    private Task AdvanceToAsync(DateTimeOffset at) => _host.AdvanceAsync(at - _host.Clock.GetUtcNow());

    [Fact]
    public async Task BeforeEachSessionDayTheCoachGetsOneDigestOfWhoIsStuckSilentOrLate()
    {
        var org = await Org.CreateAsync(_host);
        var digest = await org.Api.PutAsJsonAsync($"/api/v1/coaches/{org.CoachId}/digest", new { hour = 7 });
        await Http.ExpectAsync(digest, 200);
        // Sessions are Tuesdays 10:00 New York: the first digest is Tuesday 3 March at 07:00 EST (12:00Z).
        Assert.Equal(new DateTimeOffset(2026, 3, 3, 12, 0, 0, TimeSpan.Zero), (await digest.ReadJsonAsync())["nextDigestAt"]!.GetValue<DateTimeOffset>());

        var ava = await org.EnrolAsync("Ava Brooks", "+14155550101");
        var ben = await org.EnrolAsync("Ben Costa", "+14155550102");
        var cy = await org.EnrolAsync("Cy Diaz", "+14155550103");
        await AdvanceToAsync(Arc.FirstSession);
        await org.LogSessionAsync(ava, "Make two prospecting calls");
        await org.LogSessionAsync(ben, "Draft the pricing page");
        await org.Api.PostJsonAsync($"/api/v1/clients/{cy}/sessions", new
        {
            actionItems = new[] { new { what = "Send the proposal to Acme", byWhen = "2026-03-05" } },
            note = new { focus = "a", insight = "b", agreedAction = "c", obstacle = "d", followUp = "e" },
        }, 201);

        // Sunday's check: Ava is stuck, Cy is fine (but his Thursday action is overdue), Ben never answers.
        await AdvanceToAsync(new DateTimeOffset(2026, 3, 8, 14, 0, 0, TimeSpan.Zero));
        await org.Api.PostJsonAsync($"/api/v1/clients/{ava}/replies", new { text = "2 stuck on pricing", channel = "sms" }, 200);
        await org.Api.PostJsonAsync($"/api/v1/clients/{cy}/replies", new { text = "4", channel = "sms" }, 200);
        await AdvanceToAsync(new DateTimeOffset(2026, 3, 10, 11, 15, 0, TimeSpan.Zero));

        var emails = (await org.Api.GetJsonAsync($"/api/v1/touches?clientId={org.CoachId}&channel=email"))["touches"]!.AsArray();
        Assert.Equal(["coach-digest", "coach-digest"], emails.Select(e => e!["template"]!.GetValue<string>()));
        var (latest, first) = (emails[0]!, emails[1]!);
        Assert.Equal("Before your sessions on Tue 3 Mar: everyone is on track", first["subject"]!.GetValue<string>());
        Assert.Equal("Before your sessions on Tue 10 Mar: 1 stuck, 1 silent, 1 late", latest["subject"]!.GetValue<string>());
        Assert.Equal(("maya@northstar.example", new DateTimeOffset(2026, 3, 10, 11, 0, 0, TimeSpan.Zero)),
            (latest["recipient"]!.GetValue<string>(), latest["createdAt"]!.GetValue<DateTimeOffset>()));
        var body = latest["body"]!.GetValue<string>();
        Assert.Contains($"Leadership Launch (meets Tue 10 Mar) — roster: https://app.northstar.example/coach/cohorts/{org.CohortId}/roster", body);
        Assert.Contains($"  - Ava Brooks (stuck): rated 2 on Sun: 'stuck on pricing' — https://app.northstar.example/coach/clients/{ava}/timeline", body);
        Assert.Contains("  - Ben Costa (silent): no reply to the check-in sent Sun", body);
        Assert.Contains("  - Cy Diaz (late): action overdue since Thu 5 Mar", body);
        Assert.True(body.IndexOf("Ava Brooks", StringComparison.Ordinal) < body.IndexOf("Ben Costa", StringComparison.Ordinal));
        Assert.True(body.IndexOf("Ben Costa", StringComparison.Ordinal) < body.IndexOf("Cy Diaz", StringComparison.Ordinal));

        var settings = await org.Api.GetJsonAsync($"/api/v1/coaches/{org.CoachId}/digest");
        Assert.Equal(("2026-03-17", 7, true), (settings["nextDigestFor"]!.GetValue<string>(), settings["hour"]!.GetValue<int>(), settings["enabled"]!.GetValue<bool>()));
    }

    [Fact]
    public async Task ANewCohortJoinsTheDigestAndTurningItOffStopsIt()
    {
        var org = await Org.CreateAsync(_host);
        await Http.ExpectAsync(await org.Api.PutAsJsonAsync($"/api/v1/coaches/{org.CoachId}/digest", new { hour = 18 }), 200);
        // 18:00 is after Tuesday's 10:00 session, so that day's digest goes out the evening before: Monday 18:00 EST.
        var settings = await org.Api.GetJsonAsync($"/api/v1/coaches/{org.CoachId}/digest");
        Assert.Equal((new DateTimeOffset(2026, 3, 2, 23, 0, 0, TimeSpan.Zero), "2026-03-03"),
            (settings["nextDigestAt"]!.GetValue<DateTimeOffset>(), settings["nextDigestFor"]!.GetValue<string>()));

        // A Monday cohort is activated later: the cohort tells the coach's grain, and its Mondays get digests too.
        var monday = await org.Api.PostJsonAsync("/api/v1/cohorts", new
        {
            name = "Monday group", coachId = org.CoachId,
            program = new { sessionDay = "monday", sessionTime = "12:00", timeZone = "America/New_York" },
        }, 201);
        await org.Api.PostJsonAsync($"/api/v1/cohorts/{monday["cohortId"]}/activate", new { }, 200);
        await _host.AdvanceAsync(TimeSpan.FromHours(14.25)); // past Monday 18:00 EST: Tuesday's digest goes out
        settings = await org.Api.GetJsonAsync($"/api/v1/coaches/{org.CoachId}/digest");
        Assert.Equal(2, settings["cohorts"]!.AsArray().Count);
        Assert.Equal((new DateTimeOffset(2026, 3, 8, 22, 0, 0, TimeSpan.Zero), "2026-03-09"),
            (settings["nextDigestAt"]!.GetValue<DateTimeOffset>(), settings["nextDigestFor"]!.GetValue<string>()));

        var off = await org.Api.PutAsJsonAsync($"/api/v1/coaches/{org.CoachId}/digest", new { hour = 18, enabled = false });
        await Http.ExpectAsync(off, 200);
        Assert.Null((await off.ReadJsonAsync())["nextDigestAt"]);
        await _host.AdvanceAsync(TimeSpan.FromDays(7), TimeSpan.FromHours(1));
        var emails = (await org.Api.GetJsonAsync($"/api/v1/touches?clientId={org.CoachId}&channel=email"))["touches"]!.AsArray();
        // Only the digest sent before turning it off: none for Monday 9 or Tuesday 10 March.
        Assert.Equal("Before your sessions on Tue 3 Mar: everyone is on track", Assert.Single(emails)!["subject"]!.GetValue<string>());
    }

    [Fact]
    public async Task DigestSettingsAreValidated()
    {
        var org = await Org.CreateAsync(_host);
        var noEmail = await org.Api.PostJsonAsync("/api/v1/coaches", new { name = "Lee Park", timeZone = "UTC" }, 201);

        await Arc.ExpectFieldErrorAsync(await org.Api.PutAsJsonAsync($"/api/v1/coaches/{org.CoachId}/digest", new { hour = 24 }), "hour");
        await Arc.ExpectFieldErrorAsync(await org.Api.PutAsJsonAsync($"/api/v1/coaches/{org.CoachId}/digest", new { enabled = true }), "hour");
        await Arc.ExpectFieldErrorAsync(await org.Api.PutAsJsonAsync($"/api/v1/coaches/{noEmail["coachId"]}/digest", new { hour = 7 }), "enabled");
        await Arc.ProblemAsync(await org.Api.PutAsJsonAsync("/api/v1/coaches/coa_unknown/digest", new { hour = 7 }), HttpStatusCode.NotFound);
        Assert.False((await org.Api.GetJsonAsync($"/api/v1/coaches/{org.CoachId}/digest"))["enabled"]!.GetValue<bool>());
    }
}
