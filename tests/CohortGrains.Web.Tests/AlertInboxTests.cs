using CohortGrains.Web.Tests.Infrastructure;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace CohortGrains.Web.Tests;

/// <summary>The alert inbox's personal message: validated, sent through the outbox, and optionally handling the alert.</summary>
[Collection(BrowserCollection.Name)]
public sealed class AlertInboxTests(BrowserFixture browser) : IDisposable
{
    private readonly WebHost _host = new();

    public void Dispose() => _host.Dispose();

    [Fact]
    public async Task APersonalMessageGoesOutByTheChosenChannelAndHandlesTheAlert()
    {
        var world = await World.CreateAsync(_host);
        await _host.AdvanceToAsync(World.SessionEnd(1));
        await world.LogSessionsAsync(1, except: null);
        var gabe = world.Clients["Gabe Ito"];
        await world.Coach.PostJsonAsync($"/api/v1/clients/{gabe}/replies", new { rating = 1, text = "stuck on the budget sign-off", channel = "sms" });
        await _host.PumpAsync();
        await using var coach = await BrowserUser.OpenAsync(browser);
        await coach.SignInAsync(_host, world.CoachKey);
        var page = coach.Page;
        await page.GetByRole(AriaRole.Link, new() { Name = "Alerts" }).ClickAsync();
        var alert = page.Locator(".alert", new() { HasText = "Gabe Ito" }).First;

        // Empty: the form comes back open, with the message under the field.
        await alert.GetByText("Send a personal message").ClickAsync();
        await alert.GetByRole(AriaRole.Button, new() { Name = "Send message" }).ClickAsync();
        alert = page.Locator(".alert", new() { HasText = "Gabe Ito" }).First;
        await Expect(alert.Locator(".error")).ToHaveTextAsync("This is required.");
        Assert.DoesNotContain((await world.Coach.GetJsonAsync($"/api/v1/touches?clientId={gabe}"))["touches"]!.AsArray(),
            t => t!.Str("template") == "coach-message");

        await alert.GetByLabel("Message to Gabe Ito").FillAsync("Let's split the sign-off into two asks. Wednesday 9:00?");
        await alert.GetByLabel("Email").CheckAsync();
        await alert.GetByRole(AriaRole.Button, new() { Name = "Send message" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("Message queued and the alert marked handled");
        await Expect(page.Locator(".alerts-handled")).ToContainTextAsync("Gabe Ito");

        await _host.PumpAsync();
        var message = (await world.Coach.GetJsonAsync($"/api/v1/touches?clientId={gabe}"))["touches"]!.AsArray()
            .Single(t => t!.Str("template") == "coach-message")!;
        Assert.Equal("email", message.Str("channel"));
        Assert.Equal("sent", message.Str("status"));
        Assert.Equal("Let's split the sign-off into two asks. Wednesday 9:00?\n— Maya Chen", message.Str("body"));
        Assert.DoesNotContain(await world.OpenAlertsAsync(), a => a!.Str("clientId") == gabe);
        await coach.AssertAccessibleAsync();
        coach.AssertNoErrors();
    }
}
