using System.Text.RegularExpressions;
using CohortGrains.Web.Tests.Infrastructure;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace CohortGrains.Web.Tests;

/// <summary>Coach sign-in: who gets in, what they see, and how a session ends.</summary>
[Collection(BrowserCollection.Name)]
public sealed class SignInTests(BrowserFixture browser) : IDisposable
{
    private readonly WebHost _host = new();

    public void Dispose() => _host.Dispose();

    [Fact]
    public async Task OnlyStaffKeysSignInAndEachCoachSeesOnlyTheirOwnCohorts()
    {
        var world = await World.CreateAsync(_host);
        var clientLink = new Uri(await world.LinkAsync(world.Ava)).Query["?token=".Length..];
        await using var user = await BrowserUser.OpenAsync(browser);
        var page = user.Page;
        await page.GotoAsync(_host.BaseUrl + "/");

        foreach (var (key, message) in new[]
                 {
                     ("cg_not-a-real-key", "does not open anything"),
                     (Uri.UnescapeDataString(clientLink), "portal link, not a coach key"),
                     (WebHost.OperatorKey, "opens no org"),
                     ("   ", "Paste your API key"),
                 })
        {
            await page.GetByLabel("Your API key").FillAsync(key);
            await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
            await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync(message);
            await Expect(page).ToHaveURLAsync(_host.BaseUrl + "/");
            // The key is never written back into the page.
            await Expect(page.GetByLabel("Your API key")).ToHaveValueAsync("");
        }
        await user.AssertAccessibleAsync();

        // Coach Bo sees his cohort only; Maya's roster is "not found" for him, as the API would answer.
        await user.SignInAsync(_host, world.OtherCoachKey);
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Sales Sprint" })).ToBeVisibleAsync();
        await Expect(page.GetByText("Leadership Launch")).ToHaveCountAsync(0);
        user.AssertNoErrors();
        var response = await page.GotoAsync(_host.BaseUrl + $"/coach/cohorts/{world.CohortId}/roster");
        Assert.Equal(404, response!.Status);
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Not found" })).ToBeVisibleAsync();
        Assert.Equal(404, (await page.GotoAsync(_host.BaseUrl + $"/coach/clients/{world.Ava}/timeline"))!.Status);
        Assert.Equal(404, (await page.GotoAsync(_host.BaseUrl + $"/coach/clients/{world.Ava}/session"))!.Status);
        await Expect(page.GetByText("Ava Brooks")).ToHaveCountAsync(0);
    }

    [Fact]
    public async Task AnOrgAdminSeesEveryCohortAndEveryCoachsAlerts()
    {
        var world = await World.CreateAsync(_host);
        await _host.AdvanceToAsync(World.SessionEnd(1));
        await world.LogSessionsAsync(1, except: null);
        await world.Coach.PostJsonAsync($"/api/v1/clients/{world.Ava}/replies", new { rating = 1, text = "stuck", channel = "sms" });
        await _host.PumpAsync();
        await using var admin = await BrowserUser.OpenAsync(browser);

        await admin.SignInAsync(_host, world.AdminKey);

        var page = admin.Page;
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Leadership Launch" })).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Sales Sprint" })).ToBeVisibleAsync();
        await Expect(page.GetByText("Coach: Maya Chen")).ToBeVisibleAsync();
        await page.GetByRole(AriaRole.Link, new() { Name = "Alerts" }).ClickAsync();
        var alert = page.Locator(".alert").First;
        await Expect(alert).ToContainTextAsync("Ava Brooks");
        await Expect(alert).ToContainTextAsync("Maya Chen");
        await admin.AssertAccessibleAsync();
        admin.AssertNoErrors();
    }

    [Fact]
    public async Task SigningOutOrRevokingTheKeyEndsTheSession()
    {
        var world = await World.CreateAsync(_host);
        await using var coach = await BrowserUser.OpenAsync(browser);
        var page = coach.Page;

        await coach.SignInAsync(_host, world.CoachKey);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("You are signed out");
        await page.GotoAsync(_host.BaseUrl + "/coach/alerts");
        await Expect(page).ToHaveURLAsync(_host.BaseUrl + "/?returnUrl=%2Fcoach%2Falerts");

        // Signed in again, then the admin revokes the key: the very next page asks for a key again.
        await page.GetByLabel("Your API key").FillAsync(world.CoachKey);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(_host.BaseUrl + "/coach/alerts");
        await world.Admin.SendJsonAsync(HttpMethod.Delete, $"/api/v1/keys/{world.CoachKeyId}", null, 200);
        await page.GetByRole(AriaRole.Link, new() { Name = "Overview" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex(@"/\?returnUrl=%2Fcoach$"));
        await page.GetByLabel("Your API key").FillAsync(world.CoachKey);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("revoked");
        coach.AssertNoErrors();
    }
}
