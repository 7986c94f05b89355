using System.Net;
using System.Text.RegularExpressions;
using CohortGrains.Channels.Tests.Fakes;
using CohortGrains.Host.Tests.Infrastructure;

namespace CohortGrains.Host.Tests;

/// <summary>
/// Email through a real SMTP server (aiosmtpd on loopback) from the running service, and the links in it followed the
/// way a client would: a one-tap rating recorded without a login, an unsubscribe that works.
/// </summary>
public sealed partial class EmailChannelTests : IDisposable
{
    private static readonly DateTimeOffset SessionLogged = new(2026, 3, 3, 15, 30, 0, TimeSpan.Zero);
    // Day 5 (Sunday 8 March, after the spring-forward) 09:00 EDT; Day 6 Monday 09:00 EDT.
    private static readonly DateTimeOffset Day5 = new(2026, 3, 8, 13, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Day6 = new(2026, 3, 9, 13, 0, 0, TimeSpan.Zero);

    private readonly SmtpSink _smtp = SmtpSink.Start();
    private readonly TestHost _host = new();

    public EmailChannelTests() => _host.UseSmtp(_smtp);

    public void Dispose()
    {
        _host.Dispose();
        _smtp.Dispose();
    }

    /// <summary>A client without SMS consent: every touch, the Day-5 check-in too, goes by email.</summary>
    private async Task<(Org Org, string ClientId)> EmailOnlyClientAsync(bool smsConsent = false)
    {
        var org = await Org.CreateAsync(_host);
        var clientId = await org.EnrolAsync("Ava Brooks", smsConsent: smsConsent);
        _host.Clock.SetUtcNow(SessionLogged);
        await org.LogSessionAsync(clientId, "Make two prospecting calls", "Draft the pricing page");
        return (org, clientId);
    }

    private static string Path(string url) => new Uri(url).PathAndQuery;

    [Fact]
    public async Task TheCheckInEmailNamesTheCommitmentsAndItsOneTapLinkRecordsTheRatingWithoutALogin()
    {
        var (org, clientId) = await EmailOnlyClientAsync();
        await _host.AdvanceToAsync(Day5.AddMinutes(1), TimeSpan.FromMinutes(15));

        var mail = Assert.Single(_smtp.Messages(), m => m.Subject == "How did this week go?");
        Assert.Equal(["ava@example.com"], mail.RcptTos);
        Assert.Contains("make two prospecting calls and draft the pricing page", mail.Text);
        Assert.Contains("make two prospecting calls and draft the pricing page", mail.Html);
        Assert.StartsWith("<http://localhost/unsubscribe/", mail.Headers["List-Unsubscribe"]);
        var links = RatingLink().Matches(mail.Html!).Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(5, links.Count);
        var four = Path(links[3]);

        // Anonymous: no API key. Opening the link (or a mail scanner opening it) records nothing yet.
        var browser = _host.CreateClient();
        var page = await browser.GetAsync(four);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("<form method=\"post\">", await page.Content.ReadAsStringAsync());
        Assert.Contains("make two prospecting calls", await page.Content.ReadAsStringAsync());
        Assert.Null((await org.ClientAsync(clientId))["lastRating"]);

        var tapped = await browser.PostAsync(four, null);
        Assert.Equal(HttpStatusCode.OK, tapped.StatusCode);
        Assert.Contains("we noted 4", await tapped.Content.ReadAsStringAsync());
        var again = await browser.PostAsync(four, null);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);

        var client = await org.ClientAsync(clientId);
        Assert.Equal((4, "on-track"), (client["lastRating"]!.GetValue<int>(), client["status"]!.GetValue<string>()));
        var reply = Assert.Single((await org.Api.GetJsonAsync($"/api/v1/clients/{clientId}/timeline")).AsArray(), e => e!["kind"]!.GetValue<string>() == "reply")!;
        Assert.Equal(("s1-day5", 4, "email"), (reply["promptId"]!.GetValue<string>(), reply["rating"]!.GetValue<int>(), reply["channel"]!.GetValue<string>()));

        // Tapping 1 afterwards is a change of mind: recorded, and it escalates like any 1.
        await browser.PostAsync(Path(links[0]), null);
        await _host.PumpAsync();
        Assert.Equal("stuck", (await org.ClientAsync(clientId))["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task ExpiredAlteredOrMisusedLinksAreRefused()
    {
        var (org, clientId) = await EmailOnlyClientAsync();
        await _host.AdvanceToAsync(Day5.AddMinutes(1), TimeSpan.FromMinutes(15));
        var mail = Assert.Single(_smtp.Messages(), m => m.Subject == "How did this week go?");
        var four = Path(RatingLink().Matches(mail.Html!)[3].Groups[1].Value);
        var unsubscribe = Path(mail.Headers["List-Unsubscribe"].Trim('<', '>'));
        var browser = _host.CreateClient();

        var altered = await browser.PostAsync(four[..^2] + (four[^2] == 'A' ? "B" : "A") + four[^1], null);
        var wrongPurpose = await browser.PostAsync("/r/" + unsubscribe["/unsubscribe/".Length..], null);
        var jsonClient = await browser.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/r/garbage") { Headers = { { "Accept", "application/json" } } });
        Assert.Equal(HttpStatusCode.Forbidden, altered.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, wrongPurpose.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, jsonClient.StatusCode);
        Assert.Equal("application/problem+json", jsonClient.Content.Headers.ContentType?.MediaType);

        // Rating links last 14 days.
        _host.Clock.SetUtcNow(Day5.AddDays(14).AddMinutes(2));
        var expired = await browser.PostAsync(four, null);
        Assert.Equal(HttpStatusCode.Gone, expired.StatusCode);
        Assert.Null((await org.ClientAsync(clientId))["lastRating"]);
    }

    [Fact]
    public async Task ThePrepEmailCarriesAListUnsubscribeThatWorksAndLaterEmailsStop()
    {
        var (org, clientId) = await EmailOnlyClientAsync(smsConsent: true);
        await _host.AdvanceToAsync(Day6.AddMinutes(1), TimeSpan.FromMinutes(15));

        var prep = Assert.Single(_smtp.Messages());
        Assert.Equal("Before our call on Tue 10:00", prep.Subject);
        Assert.Contains("make two prospecting calls and draft the pricing page", prep.Text);
        Assert.Equal("List-Unsubscribe=One-Click", prep.Headers["List-Unsubscribe-Post"]);
        Assert.DoesNotContain("/r/", prep.Text); // prep asks nothing: no rating links

        // What a mail client sends for "Unsubscribe" (RFC 8058): a POST with List-Unsubscribe=One-Click.
        var oneClick = await _host.CreateClient().PostAsync(Path(prep.Headers["List-Unsubscribe"].Trim('<', '>')),
            new FormUrlEncodedContent([new("List-Unsubscribe", "One-Click")]));

        Assert.Equal(HttpStatusCode.OK, oneClick.StatusCode);
        var client = await org.ClientAsync(clientId);
        Assert.True(client["consent"]!["emailUnsubscribed"]!.GetValue<bool>());
        Assert.Equal("List-Unsubscribe one-click (mail client)", client["consent"]!["changes"]!.AsArray()[^1]!["how"]!.GetValue<string>());

        // The next session's prep goes by SMS (the client consented to it), not by email.
        _host.Clock.SetUtcNow(new DateTimeOffset(2026, 3, 10, 15, 0, 0, TimeSpan.Zero));
        await org.LogSessionAsync(clientId, "Call three prospects");
        await _host.AdvanceToAsync(new DateTimeOffset(2026, 3, 16, 13, 1, 0, TimeSpan.Zero), TimeSpan.FromMinutes(30));
        Assert.Equal("sms", (await org.TouchAsync(clientId, "s2-day6"))["channel"]!.GetValue<string>());
        Assert.Single(_smtp.Messages());
    }

    [Fact]
    public async Task TheUnsubscribePageAsksFirstAndItsButtonUnsubscribes()
    {
        var (org, clientId) = await EmailOnlyClientAsync();
        await _host.AdvanceToAsync(Day5.AddMinutes(1), TimeSpan.FromMinutes(15));
        var link = Path(UnsubscribeLink().Match(_smtp.Messages()[^1].Html!).Groups[1].Value);
        var browser = _host.CreateClient();

        var page = await browser.GetAsync(link);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.False((await org.ClientAsync(clientId))["consent"]!["emailUnsubscribed"]!.GetValue<bool>());

        var done = await browser.PostAsync(link, null);
        Assert.Equal(HttpStatusCode.OK, done.StatusCode);
        var client = await org.ClientAsync(clientId);
        Assert.True(client["consent"]!["emailUnsubscribed"]!.GetValue<bool>());
        Assert.Equal("email unsubscribe link", client["consent"]!["changes"]!.AsArray()[^1]!["how"]!.GetValue<string>());
    }

    [Fact]
    public void SmtpInProductionWithTheLoopbackPublicUrlStopsTheNodeAtStartup()
    {
        using var host = new TestHost();
        host.UseSmtp(_smtp);
        host.Settings.Remove("PublicBaseUrl");
        host.Settings["environment"] = "Production";

        var error = Assert.ThrowsAny<Exception>(() => host.CreateClient());

        Assert.Contains("PublicBaseUrl is http://127.0.0.1:5080, a loopback address, but Smtp:Host is set", error.ToString());
    }

    [Fact]
    public void SmtpOutsideProductionWorksWithTheLoopbackDefault()
    {
        using var host = new TestHost();
        host.UseSmtp(_smtp);
        host.Settings.Remove("PublicBaseUrl");

        using var client = host.CreateClient();
    }

    [Theory]
    [InlineData("Smtp:PublicBaseUrl", "https://coach.example.com")]
    [InlineData("Twilio:PublicBaseUrl", "https://coach.example.com")]
    [InlineData("Links:BaseUrl", "https://coach.example.com")]
    [InlineData("Links:PortalUrl", "https://coach.example.com/portal")]
    [InlineData("Links:SigningKey", "0123456789abcdef0123456789abcdef")]
    public void AReplacedSettingStopsTheNodeAtStartupNamingItsReplacement(string key, string value)
    {
        using var host = new TestHost();
        host.Settings[key] = value;

        var error = Assert.ThrowsAny<Exception>(() => host.CreateClient());

        Assert.Contains($"{key} is no longer read: set {(key == "Links:SigningKey" ? "Links:Secret" : "PublicBaseUrl")}", error.ToString());
    }

    [GeneratedRegex("href=\"(http://localhost/r/[^\"]+)\"")]
    private static partial Regex RatingLink();

    [GeneratedRegex("href=\"(http://localhost/unsubscribe/[^\"]+)\"")]
    private static partial Regex UnsubscribeLink();
}
