using System.Text.RegularExpressions;
using CohortGrains.Web.Tests.Infrastructure;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace CohortGrains.Web.Tests;

/// <summary>The client's portal: opened by a magic link, and everything in it reaching the client's own loop.</summary>
[Collection(BrowserCollection.Name)]
public sealed class PortalTests(BrowserFixture browser) : IDisposable
{
    private readonly WebHost _host = new();

    public void Dispose() => _host.Dispose();

    [Fact]
    public async Task ABadLinkSaysSoAndRevokingTheLinksEndsTheSession()
    {
        var world = await World.CreateAsync(_host);
        var link = await world.LinkAsync(world.Ava);
        await using var ava = await BrowserUser.OpenAsync(browser, BrowserUser.Phone);
        var page = ava.Page;

        // A forged token (its signature does not match) opens nothing.
        // (Flip the last character of the signature; it must really change, or the "forgery" is the genuine token.)
        var token = Uri.UnescapeDataString(new Uri(link).Query[7..]);
        var forged = token[..^1] + (token[^1] == 'A' ? 'B' : 'A');
        await page.GotoAsync(_host.BaseUrl + "/portal?token=" + Uri.EscapeDataString(forged));
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "This link no longer opens your portal" })).ToBeVisibleAsync();
        // Nor does a coach's key put in a URL.
        await page.GotoAsync(_host.BaseUrl + "/portal?token=" + Uri.EscapeDataString(world.CoachKey));
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "This link no longer opens your portal" })).ToBeVisibleAsync();

        await page.GotoAsync(link);
        await Expect(page).ToHaveURLAsync(_host.BaseUrl + "/portal/home");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Hi Ava" })).ToBeVisibleAsync();
        // The same browser cannot walk into the coach's pages with the client's session.
        await page.GotoAsync(_host.BaseUrl + "/coach");
        await Expect(page).ToHaveURLAsync(_host.BaseUrl + "/?returnUrl=%2Fcoach");

        // The coach revokes Ava's links: her open session ends with them.
        await world.Coach.SendJsonAsync(HttpMethod.Delete, $"/api/v1/clients/{world.Ava}/links", null, 200);
        await page.GotoAsync(_host.BaseUrl + "/portal/home");
        await Expect(page).ToHaveURLAsync(new Regex(@"/portal\?returnUrl="));
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Your coaching portal" })).ToBeVisibleAsync();
        ava.AssertNoErrors();
    }

    [Fact]
    public async Task TheClientTicksOffAnActionWritesAReflectionAndChoosesHowToBeReached()
    {
        var world = await World.CreateAsync(_host);
        await _host.AdvanceToAsync(World.SessionEnd(1));
        await world.LogSessionsAsync(1, except: null);
        await using var ava = await BrowserUser.OpenAsync(browser, BrowserUser.Phone);
        var page = ava.Page;
        await page.GotoAsync(await world.LinkAsync(world.Ava));

        // The action: marked done, and the coach's API sees it.
        await page.GetByRole(AriaRole.Button, new() { Name = "Mark done: Make two prospecting calls" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("marked as done");
        await Expect(page.Locator(".portal-actions .action-done")).ToContainTextAsync("Done Tue 17 Feb");
        var client = await world.Coach.GetJsonAsync($"/api/v1/clients/{world.Ava}");
        Assert.NotNull(client["sessions"]![0]!["actionItems"]![0]!["completedAt"]);

        // A reflection: empty is refused with a message, then saved and shown.
        await page.GetByRole(AriaRole.Button, new() { Name = "Save reflection" }).ClickAsync();
        await Expect(page.Locator("#reflection-error")).ToHaveTextAsync("This is required.");
        await page.GetByLabel("Write a reflection on session 1").FillAsync("Asking was easier than I feared <b>really</b>");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save reflection" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("reflection is saved");
        await Expect(page.Locator(".reflections")).ToContainTextAsync("Asking was easier than I feared <b>really</b>");
        var timeline = (await world.Coach.GetJsonAsync($"/api/v1/clients/{world.Ava}/timeline")).ToJsonString();
        Assert.Contains("Asking was easier than I feared", timeline, StringComparison.Ordinal);

        // Settings: no more texts, quiet from 20:00, check-ins at 10:00. Each reaches the loop (and its consent history).
        await page.GetByLabel("Text messages to").UncheckAsync();
        await page.GetByLabel("Nothing after").SelectOptionAsync("20:00");
        await page.GetByLabel("Best time for check-ins").SelectOptionAsync("10");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save settings" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("settings are saved");
        await Expect(page.GetByLabel("Text messages to")).Not.ToBeCheckedAsync();
        client = await world.Coach.GetJsonAsync($"/api/v1/clients/{world.Ava}");
        Assert.True(client["consent"]!["smsOptedOut"]!.GetValue<bool>());
        Assert.Equal("20:00–08:00", client.Str("quietHours"));
        Assert.Equal(10, client["preferredHour"]!.GetValue<int>());
        Assert.Contains(client["consent"]!["changes"]!.AsArray(), c => c!.Str("how") == "portal settings");

        // The Day-2 nudge now comes at 10:00 and by email (SMS is off).
        await _host.AdvanceToAsync(new DateTimeOffset(2026, 2, 19, 15, 30, 0, TimeSpan.Zero));
        var touches = (await world.Coach.GetJsonAsync($"/api/v1/touches?clientId={world.Ava}"))["touches"]!.AsArray();
        var nudge = touches.Single(t => t!.Str("template") == "day2")!;
        Assert.Equal("email", nudge.Str("channel"));
        Assert.Equal(new DateTimeOffset(2026, 2, 19, 15, 0, 0, TimeSpan.Zero), nudge["createdAt"]!.GetValue<DateTimeOffset>());

        await ava.AssertAccessibleAsync();
        ava.AssertNoErrors();
    }

    [Fact]
    public async Task AStaffKeyOnThePortalExplainsItAndShowsNoClient()
    {
        var world = await World.CreateAsync(_host);
        var response = await _host.Api(world.CoachKey).GetAsync("/portal/home");
        var html = await response.Content.ReadAsStringAsync();

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Contains("The client portal", html, StringComparison.Ordinal);
        Assert.DoesNotContain("Ava", html, StringComparison.Ordinal);
    }
}
