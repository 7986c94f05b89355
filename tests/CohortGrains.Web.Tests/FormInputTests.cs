using CohortGrains.Web.Tests.Infrastructure;
using Microsoft.Playwright;

namespace CohortGrains.Web.Tests;

/// <summary>
/// Bad input sent straight at every form handler (with a valid session and antiforgery token, as a crafted request
/// would come): the page answers with its messages, or "not found", never a 500, and never echoes markup unescaped.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class FormInputTests(BrowserFixture browser) : IDisposable
{
    private readonly WebHost _host = new();

    public void Dispose() => _host.Dispose();

    private static async Task<string> TokenAsync(IPage page) =>
        await page.Locator("input[name=__RequestVerificationToken]").First.InputValueAsync();

    private static async Task<(int Status, string Html)> PostAsync(IPage page, string url, string token, params (string Name, string Value)[] fields)
    {
        var form = page.Context.APIRequest.CreateFormData();
        form.Set("__RequestVerificationToken", token);
        foreach (var (name, value) in fields) form.Append(name, value);
        var response = await page.Context.APIRequest.PostAsync(url, new() { Form = form, Headers = new Dictionary<string, string> { ["Accept"] = "text/html" } });
        return (response.Status, await response.TextAsync());
    }

    [Fact]
    public async Task BadFormInputIsAnsweredWithMessagesNeverAServerError()
    {
        var world = await World.CreateAsync(_host);
        await _host.AdvanceToAsync(World.SessionEnd(1));
        await world.LogSessionsAsync(1, except: null);
        await world.Coach.PostJsonAsync($"/api/v1/clients/{world.Ava}/replies", new { rating = 1, text = "stuck", channel = "sms" });
        await _host.PumpAsync();
        const string markup = "<script>alert(1)</script>";

        await using var coach = await BrowserUser.OpenAsync(browser);
        await coach.SignInAsync(_host, world.CoachKey);
        var page = coach.Page;
        await page.GotoAsync(_host.BaseUrl + $"/coach/clients/{world.Ava}/session");
        var token = await TokenAsync(page);
        var session = _host.BaseUrl + $"/coach/clients/{world.Ava}/session";
        var cases = new List<(string What, (int Status, string Html) Answer, int Expected, string? Says)>
        {
            ("bad date, long text, control character, stray row", await PostAsync(page, session, token,
                ("Items[0].What", new string('x', 400)), ("Items[0].ByWhen", "31/02/2026"), ("Items[0].Notice", "a\u0007b"), ("Items[7].What", markup),
                ("Note.Focus", markup), ("AcceptVague", "maybe")), 200, "must be a date as yyyy-MM-dd"),
            ("no items at all", await PostAsync(page, session, token, ("Note.Focus", "x")), 200, "must have 1 to 3 action items"),
            ("someone else's client", await PostAsync(page, _host.BaseUrl + "/coach/clients/cli_nobody0000/session", token, ("Items[0].What", "x")), 404, null),
        };

        await page.GotoAsync(_host.BaseUrl + "/coach/alerts");
        token = await TokenAsync(page);
        var alerts = _host.BaseUrl + "/coach/alerts";
        var alertId = (await world.OpenAlertsAsync())[0]!.Str("alertId");
        cases.Add(("unknown alert", await PostAsync(page, alerts + "?handler=Handle", token, ("coachId", world.CoachId), ("alertId", "a999")), 404, null));
        cases.Add(("another coach's alert", await PostAsync(page, alerts + "?handler=Handle", token, ("coachId", "coa_someone000"), ("alertId", alertId)), 404, null));
        cases.Add(("a note too long", await PostAsync(page, alerts + "?handler=Handle", token, ("coachId", world.CoachId), ("alertId", alertId), ("note", new string('n', 3000))), 200,
            "at most 2000 characters"));
        cases.Add(("message: bad channel and request id", await PostAsync(page, alerts + "?handler=Message", token, ("coachId", world.CoachId), ("alertId", alertId),
            ("clientId", world.Ava), ("text", markup), ("channel", "pigeon"), ("requestId", "has spaces")), 200, "must be sms, email or inapp"));
        cases.Add(("message: control characters", await PostAsync(page, alerts + "?handler=Message", token, ("coachId", world.CoachId), ("alertId", alertId),
            ("clientId", world.Ava), ("text", "hi\u001bthere")), 200, "must not contain control characters"));
        // A NUL never reaches the page: ASP.NET Core's form reader refuses the whole form (400), before antiforgery or the handler.
        cases.Add(("message with a NUL", await PostAsync(page, alerts + "?handler=Message", token, ("coachId", world.CoachId), ("alertId", alertId),
            ("clientId", world.Ava), ("text", "hi\u0000there")), 400, null));
        cases.Add(("message to another coach's client", await PostAsync(page, alerts + "?handler=Message", token, ("coachId", world.CoachId), ("alertId", alertId),
            ("clientId", world.Clients["Ben Costa"][..^1] + "_"), ("text", "hello")), 404, null));

        await using var ava = await BrowserUser.OpenAsync(browser, BrowserUser.Phone);
        await ava.Page.GotoAsync(await world.LinkAsync(world.Ava));
        token = await TokenAsync(ava.Page);
        var portal = _host.BaseUrl + "/portal/home";
        cases.Add(("rating out of range", await PostAsync(ava.Page, portal + "?handler=CheckIn", token, ("rating", "9"), ("promptId", markup)), 200, "must be between 1 and 5"));
        cases.Add(("rating not a number, no words", await PostAsync(ava.Page, portal + "?handler=CheckIn", token, ("rating", "abc")), 200, "needs a rating"));
        cases.Add(("obstacle too long", await PostAsync(ava.Page, portal + "?handler=CheckIn", token, ("rating", "2"), ("obstacle", new string('o', 2000))), 200,
            "at most 1600 characters"));
        cases.Add(("unknown action", await PostAsync(ava.Page, portal + "?handler=Complete", token, ("itemId", "../../etc")), 404, null));
        cases.Add(("reflection of markup on a session that never was", await PostAsync(ava.Page, portal + "?handler=Reflect", token, ("text", markup), ("session", "9")), 200,
            "ession 9 was not logged"));
        cases.Add(("impossible hours", await PostAsync(ava.Page, portal + "?handler=Settings", token, ("quietStart", "25:00"), ("quietEnd", "08:00"), ("preferredHour", "-3")), 200,
            "must be a time of day"));
        cases.Add(("quiet hours shorter than the floor", await PostAsync(ava.Page, portal + "?handler=Settings", token, ("sms", "true"), ("email", "true"),
            ("quietStart", "23:00"), ("quietEnd", "07:00"), ("preferredHour", "9")), 200, "must cover at least 21:00"));

        var failures = cases.Where(c => c.Answer.Status != c.Expected || (c.Says is not null && !c.Answer.Html.Contains(c.Says, StringComparison.Ordinal))
                                        || c.Answer.Html.Contains(markup, StringComparison.Ordinal))
            .Select(c => $"{c.What}: {c.Answer.Status} (expected {c.Expected}{(c.Says is null ? "" : $", saying '{c.Says}'")})").ToList();
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        // Nothing of it reached Ava's loop: still one session, the one reply from the API, no reflection, consent as it was.
        var client = await world.Coach.GetJsonAsync($"/api/v1/clients/{world.Ava}");
        Assert.Single(client["sessions"]!.AsArray());
        Assert.Equal("21:00–08:00", client.Str("quietHours"));
        Assert.DoesNotContain("reflection", (await world.Coach.GetJsonAsync($"/api/v1/clients/{world.Ava}/timeline")).ToJsonString(), StringComparison.Ordinal);
    }
}
