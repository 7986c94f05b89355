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
