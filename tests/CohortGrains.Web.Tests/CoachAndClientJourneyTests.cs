using System.Text.RegularExpressions;
using CohortGrains.Web.Tests.Infrastructure;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace CohortGrains.Web.Tests;

/// <summary>
/// The whole loop in a real browser: a coach signs in and logs a session, the client's Day-2 touch goes out, the client
/// opens the portal link and says they are stuck, and the coach sees it on the roster and in the alert inbox and handles it.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class CoachAndClientJourneyTests(BrowserFixture browser) : IDisposable
{
    private readonly WebHost _host = new();

    public void Dispose() => _host.Dispose();

    [Fact]
    public async Task ACoachLogsASessionTheClientSaysStuckInThePortalAndTheCoachCatchesIt()
    {
        var world = await World.CreateAsync(_host);
        await world.PlayTwoWeeksAsync();
        await _host.AdvanceToAsync(World.SessionEnd(3));
        await world.LogSessionsAsync(3, except: "Ava Brooks");

        await using var coach = await BrowserUser.OpenAsync(browser);
        var page = coach.Page;

        // Sign in with the coach's key: the landing page trades it for a session and opens the overview.
        await page.GotoAsync(_host.BaseUrl + "/");
        await coach.AssertAccessibleAsync();
        await coach.ScreenshotAsync("sign-in");
        await page.GetByLabel("Your API key").FillAsync(world.CoachKey);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(_host.BaseUrl + "/coach");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Leadership Launch" })).ToBeVisibleAsync();
        await Expect(page.GetByText("Sales Sprint")).ToHaveCountAsync(0); // another coach's cohort

        // Roster → Ava → Log session.
        await page.GetByRole(AriaRole.Link, new() { Name = "Roster before the session" }).ClickAsync();
        await page.GetByRole(AriaRole.Link, new() { Name = "Ava Brooks", Exact = true }).ClickAsync();
        await Expect(page).ToHaveURLAsync(_host.BaseUrl + $"/coach/clients/{world.Ava}/timeline");
        await coach.AssertAccessibleAsync();
        await page.GetByRole(AriaRole.Link, new() { Name = "Log session" }).ClickAsync();
        await coach.AssertAccessibleAsync();

        // First try: a vague action and most of the note missing. The server answers with a message per field.
        await page.GetByLabel("What will they do?").First.FillAsync("Be more confident");
        await page.GetByLabel("Focus").FillAsync("Confidence on calls");
        await page.GetByRole(AriaRole.Button, new() { Name = "Log session" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("The session was not logged");
        await Expect(page.Locator("#note-insight-error")).ToHaveTextAsync("This is required.");
        await Expect(page.GetByLabel("Focus")).ToHaveValueAsync("Confidence on calls");
        await coach.ScreenshotAsync("session-form-errors");

        // Second try: the note is complete; the vague action comes back with the hint, and nothing is saved yet.
        await page.GetByLabel("Insight").FillAsync("She rehearses instead of calling");
        await page.GetByLabel("Agreed action").FillAsync("Two calls before Thursday");
        await page.GetByLabel("Likely obstacle").FillAsync("Client deadlines");
        await page.GetByLabel("Follow-up point").FillAsync("How the first call felt");
        await page.GetByRole(AriaRole.Button, new() { Name = "Log session" }).ClickAsync();
        await Expect(page.Locator("#item-0-hint")).ToContainTextAsync("is hard to observe");
        await coach.ScreenshotAsync("session-form-hint");
        Assert.Equal(2, (await world.Coach.GetJsonAsync($"/api/v1/clients/{world.Ava}"))["sessions"]!.AsArray().Count);

        // Sharpened: logged, and the timeline shows session 3.
        await page.GetByLabel("What will they do?").First.FillAsync("Make two prospecting calls");
        await page.GetByLabel("By when").First.FillAsync("2026-03-06");
        await page.GetByLabel("What to notice").First.FillAsync("how it felt to ask");
        await page.GetByRole(AriaRole.Button, new() { Name = "Log session" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex($"/coach/clients/{world.Ava}/timeline"));
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("Session 3 logged");
        await Expect(page.Locator(".event-session").First).ToContainTextAsync("Make two prospecting calls");

        // Thursday 09:15 New York: the coach's session from Tuesday has expired (12 hours unused), so the page sends them
        // to sign in and back. The Day-2 nudge went out by SMS, naming the commitment.
        await _host.AdvanceToAsync(new DateTimeOffset(2026, 3, 5, 14, 15, 0, TimeSpan.Zero));
        await page.ReloadAsync();
        await Expect(page).ToHaveURLAsync(new Regex(@"/\?returnUrl=%2Fcoach%2Fclients%2F"));
        await page.GetByLabel("Your API key").FillAsync(world.CoachKey);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex($"/coach/clients/{world.Ava}/timeline"));
        var nudge = page.Locator(".event-touch").First;
        await Expect(nudge).ToContainTextAsync("Hi Ava, started on make two prospecting calls yet?");
        await Expect(nudge).ToContainTextAsync("SMS");
        await Expect(nudge.Locator(".tag-sent, .tag-delivered")).ToHaveCountAsync(1);

        // The coach creates Ava's portal link (shown once).
        await page.GetByRole(AriaRole.Button, new() { Name = "Create portal link" }).ClickAsync();
        var link = await page.GetByLabel("Portal link").InputValueAsync();
        await coach.ScreenshotAsync("client-timeline");
        Assert.StartsWith(_host.BaseUrl + "/portal?token=cgl_", link, StringComparison.Ordinal);

        // Ava opens it on her phone: the token is traded for a session and leaves the address bar.
        await using var ava = await BrowserUser.OpenAsync(browser, BrowserUser.Phone);
        var portal = ava.Page;
        await portal.GotoAsync(link);
        await Expect(portal).ToHaveURLAsync(_host.BaseUrl + "/portal/home");
        Assert.DoesNotContain("token", portal.Url, StringComparison.Ordinal);
        await Expect(portal.GetByRole(AriaRole.Heading, new() { Name = "Hi Ava" })).ToBeVisibleAsync();
        await Expect(portal.Locator(".portal-actions")).ToContainTextAsync("Make two prospecting calls");
        await Expect(portal.Locator(".portal-actions")).ToContainTextAsync("Due Fri 6 Mar");
        await Expect(portal.GetByText("expect a reply within 24 hours")).ToBeVisibleAsync();
        await ava.AssertAccessibleAsync();

        // One tap: 2, with what is in the way.
        await portal.GetByLabel("Anything in your way?").FillAsync("no time for calls");
        await portal.GetByRole(AriaRole.Button, new() { Name = "2: Hard" }).ClickAsync();
        await Expect(portal.GetByRole(AriaRole.Status).First).ToContainTextAsync("Maya Chen has been told");
        // The alert travels to the coach's grain, which reserves a slot and offers it back.
        await _host.PumpAsync();
        var avaAlert = (await world.OpenAlertsAsync()).Single(a => a!["clientId"]!.GetValue<string>() == world.Ava)!;
        var slot = TimeZoneInfo.ConvertTime(avaAlert["offeredSlot"]!.GetValue<DateTimeOffset>(), TimeZoneInfo.FindSystemTimeZoneById("America/New_York"))
            .ToString("ddd d MMM, HH:mm", System.Globalization.CultureInfo.InvariantCulture);
        Assert.StartsWith("Wed 11 Mar", slot, StringComparison.Ordinal); // the coach's next free Wednesday window
        await portal.ReloadAsync();
        await Expect(portal.GetByText("free 15-minute slot on")).ToContainTextAsync(slot);
        var portalShot = await ava.ScreenshotAsync("portal");

        // The roster: Ava first, stuck, with her words.
        await page.GotoAsync(_host.BaseUrl + $"/coach/cohorts/{world.CohortId}/roster");
        var first = page.Locator(".roster-item").First;
        await Expect(first.GetByRole(AriaRole.Heading, new() { Level = 2 })).ToHaveTextAsync("Ava Brooks");
        await Expect(first.Locator(".badge-stuck")).ToBeVisibleAsync();
        await Expect(first.Locator(".reason")).ToHaveTextAsync("rated 2 on Thu: 'no time for calls'");
        await coach.AssertAccessibleAsync();
        var rosterShot = await coach.ScreenshotAsync("roster");

        // The inbox has it, with the slot already offered; the coach marks it handled before Tuesday's session.
        await page.GetByRole(AriaRole.Link, new() { Name = "Alerts" }).ClickAsync();
        var alert = page.Locator(".alert", new() { Has = page.GetByRole(AriaRole.Link, new() { Name = "Ava Brooks" }) }).First;
        await Expect(alert).ToContainTextAsync("rated 2 on Thu: 'no time for calls'");
        await Expect(alert.Locator(".slot")).ToContainTextAsync(slot);
        await coach.AssertAccessibleAsync();
        await coach.ScreenshotAsync("alerts");
        await alert.GetByRole(AriaRole.Button, new() { Name = "Mark handled" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("Marked handled");
        var handled = page.Locator(".alerts-handled .alert").First;
        await Expect(handled).ToContainTextAsync("Ava Brooks");
        await Expect(handled.Locator(".badge-caught")).ToHaveTextAsync("Caught");
        Assert.DoesNotContain((await world.OpenAlertsAsync()), a => a!["clientId"]!.GetValue<string>() == world.Ava);

        // The overview counts it once the coach's grain has told the client's loop (a durable message): 4 of 6 caught
        // (Gabe's alert was handled after his session, Hana's is still open).
        await _host.PumpAsync();
        await page.GetByRole(AriaRole.Link, new() { Name = "Overview" }).ClickAsync();
        await Expect(page.Locator(".kpi", new() { HasText = "Catch rate" }).Locator(".kpi-value")).ToHaveTextAsync("67%");
        await Expect(page.Locator("svg.chart-wide .xlabels text")).ToHaveTextAsync(["W1", "W2", "W3 (so far)"]);
        await coach.AssertAccessibleAsync();
        var overviewShot = await coach.ScreenshotAsync("overview");
        // The same pages on a phone: one column, the chart's labels readable.
        await page.SetViewportSizeAsync(BrowserUser.Phone.Width, BrowserUser.Phone.Height);
        await coach.ScreenshotAsync("overview-phone");
        await page.GotoAsync(_host.BaseUrl + $"/coach/cohorts/{world.CohortId}/roster");
        await coach.ScreenshotAsync("roster-phone");

        coach.AssertNoErrors();
        ava.AssertNoErrors();
        foreach (var shot in new[] { overviewShot, rosterShot, portalShot }) Assert.True(new FileInfo(shot).Length > 10_000, shot);
    }
}
