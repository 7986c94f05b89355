using System.Net;
using CohortGrains.Channels.Tests.Fakes;
using CohortGrains.Host.Tests.Infrastructure;
using CohortGrains.Host.Webhooks;
using Microsoft.Extensions.Logging;

namespace CohortGrains.Host.Tests;

/// <summary>
/// Inbound SMS and status callbacks as Twilio sends them: signed (or not), form-encoded, answered with empty TwiML.
/// Replies land on the right client and prompt; carrier keywords change SMS consent.
/// </summary>
public sealed class TwilioWebhookTests : IDisposable
{
    private const string Phone = "+14155550101";
    private static readonly DateTimeOffset SessionLogged = new(2026, 3, 3, 15, 30, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Day2 = new(2026, 3, 5, 14, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Day5 = new(2026, 3, 8, 13, 0, 0, TimeSpan.Zero);

    private readonly TestHost _host = new();
    private readonly LogCapture _logs;

    public TwilioWebhookTests()
    {
        _host.UseTwilioWebhooksOnly();
        _logs = _host.CaptureLogs();
    }

    public void Dispose() => _host.Dispose();

    private HttpClient Twilio => _host.CreateClient();

    private async Task<(Org Org, string ClientId)> SessionLoggedAsync(int preferredHour = 9, Org? org = null, string name = "Ava Brooks")
    {
        org ??= await Org.CreateAsync(_host);
        var clientId = await org.EnrolAsync(name, Phone, preferredHour);
        if (_host.Clock.GetUtcNow() < SessionLogged) _host.Clock.SetUtcNow(SessionLogged);
        await org.LogSessionAsync(clientId, "Make two prospecting calls");
        return (org, clientId);
    }

    private async Task<HttpResponseMessage> TextAsync(string body, string? sid = null, string from = Phone)
    {
        var response = await Twilio.PostAsTwilioAsync("/webhooks/twilio/inbound", ChannelTestKit.Inbound(from, body, sid));
        await _host.PumpAsync();
        return response;
    }

    private static async Task<string> TwimlAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/xml", response.Content.Headers.ContentType?.MediaType);
        return await response.Content.ReadAsStringAsync();
    }

    [Fact]
    public async Task UnsignedForgedOrMisaddressedWebhooksAreRefusedAndRecordNothing()
    {
        var (org, clientId) = await SessionLoggedAsync();
        await _host.AdvanceToAsync(Day2.AddMinutes(1));
        var form = ChannelTestKit.Inbound(Phone, "1 stuck");

        var unsigned = await Twilio.PostAsTwilioAsync("/webhooks/twilio/inbound", form, sign: false);
        var forged = await Twilio.PostAsTwilioAsync("/webhooks/twilio/inbound", form, token: "not-the-auth-token");
        var otherUrl = await Twilio.PostAsTwilioAsync("/webhooks/twilio/inbound", form, signedUrl: "https://evil.example/webhooks/twilio/inbound");
        var replayedElsewhere = await Twilio.PostAsTwilioAsync("/webhooks/twilio/status", form, signedUrl: "https://coach.example.com/webhooks/twilio/inbound");
        await _host.PumpAsync();

        foreach (var response in new[] { unsigned, forged, otherUrl, replayedElsewhere })
        {
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }
        var client = await org.ClientAsync(clientId);
        Assert.Equal("on-track", client["status"]!.GetValue<string>());
        Assert.DoesNotContain((await org.Api.GetJsonAsync($"/api/v1/clients/{clientId}/timeline")).AsArray(), e => e!["kind"]!.GetValue<string>() == "reply");
    }

    [Fact]
    public async Task TheSignatureIsCheckedAgainstThePublicUrlWithOrWithoutTheDefaultPort()
    {
        await SessionLoggedAsync();

        var withPort = await Twilio.PostAsTwilioAsync("/webhooks/twilio/inbound", ChannelTestKit.Inbound(Phone, "4"),
            signedUrl: "https://coach.example.com:443/webhooks/twilio/inbound");
        var asSeenByTheNode = await Twilio.PostAsTwilioAsync("/webhooks/twilio/inbound", ChannelTestKit.Inbound(Phone, "4"),
            signedUrl: "http://localhost/webhooks/twilio/inbound");

        Assert.Equal(HttpStatusCode.OK, withPort.StatusCode);
        // Behind a proxy the public URL is the one Twilio signed; the node's own view of the URL is not accepted.
        Assert.Equal(HttpStatusCode.Forbidden, asSeenByTheNode.StatusCode);
    }

    [Fact]
    public async Task WithoutAPublicUrlTheUrlTheNodeSeesIsTheSignedOne()
    {
        _host.Settings.Remove("PublicBaseUrl");
        await SessionLoggedAsync();

        var response = await Twilio.PostAsTwilioAsync("/webhooks/twilio/inbound", ChannelTestKit.Inbound(Phone, "4"),
            signedUrl: "http://localhost/webhooks/twilio/inbound");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public void TwilioInProductionWithTheLoopbackPublicUrlStopsTheNodeAtStartup()
    {
        using var host = new TestHost();
        host.Settings["Twilio:AccountSid"] = FakeTwilio.AccountSid;
        host.Settings["Twilio:AuthToken"] = FakeTwilio.AuthToken;
        host.Settings["Twilio:From"] = FakeTwilio.From;
        host.Settings["environment"] = "Production";

        var error = Assert.ThrowsAny<Exception>(() => host.CreateClient());

        Assert.Contains("PublicBaseUrl is http://127.0.0.1:5080, a loopback address, but Twilio is configured", error.ToString());
    }

    [Fact]
    public async Task WithoutAnAuthTokenEveryWebhookIsRefused()
    {
        _host.Settings.Remove("Twilio:AuthToken");
        await SessionLoggedAsync();

        var response = await Twilio.PostAsTwilioAsync("/webhooks/twilio/inbound", ChannelTestKit.Inbound(Phone, "4"));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Theory]
    [InlineData("4", 4, "on-track")]
    [InlineData("2 stuck on pricing", 2, "stuck")]
    [InlineData("five", 5, "on-track")]
    [InlineData("⭐⭐⭐⭐", 4, "on-track")]
    [InlineData("  FIVE!  ", 5, "on-track")]
    [InlineData("haven't started, no time", null, "stuck")]
    public async Task ARepliedSmsBecomesACheckInOnTheOpenPrompt(string body, int? rating, string status)
    {
        var (org, clientId) = await SessionLoggedAsync();
        await _host.AdvanceToAsync(Day5.AddMinutes(30), TimeSpan.FromMinutes(15));

        var twiml = await TwimlAsync(await TextAsync(body));

        Assert.Equal("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>", twiml);
        var reply = (await org.Api.GetJsonAsync($"/api/v1/clients/{clientId}/timeline")).AsArray().Single(e => e!["kind"]!.GetValue<string>() == "reply")!;
        Assert.Equal("s1-day5", reply["promptId"]!.GetValue<string>());
        Assert.Equal("sms", reply["channel"]!.GetValue<string>());
        Assert.Equal(rating, reply["rating"]?.GetValue<int>());
        Assert.Equal(status, (await org.ClientAsync(clientId))["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task AWebhookDeliveredTwiceIsOneReply()
    {
        var (org, clientId) = await SessionLoggedAsync();
        await _host.AdvanceToAsync(Day2.AddMinutes(1));
        var sid = ChannelTestKit.NewSid();

        await TextAsync("2 stuck on pricing", sid);
        await TextAsync("2 stuck on pricing", sid);

        Assert.Single((await org.Api.GetJsonAsync($"/api/v1/clients/{clientId}/timeline")).AsArray(), e => e!["kind"]!.GetValue<string>() == "reply");
        Assert.Single((await org.Api.GetJsonAsync($"/api/v1/coaches/{org.CoachId}/alerts")).AsArray());
    }

    [Fact]
    public async Task StopOptsOutOfSmsSoLaterTouchesGoByEmailAndStartOptsBackIn()
    {
        var (org, clientId) = await SessionLoggedAsync();
        await _host.AdvanceToAsync(Day2.AddMinutes(1));
        Assert.Equal("sms", (await org.TouchAsync(clientId, "s1-day2"))["channel"]!.GetValue<string>());

        await TwimlAsync(await TextAsync(" stop "));

        var client = await org.ClientAsync(clientId);
        Assert.True(client["consent"]!["smsOptedOut"]!.GetValue<bool>());
        var change = client["consent"]!["changes"]!.AsArray()[^1]!;
        Assert.Equal(("SMS keyword STOP", FakeTwilio.From, false), (change["how"]!.GetValue<string>(), change["sender"]!.GetValue<string>(), change["given"]!.GetValue<bool>()));
        Assert.DoesNotContain((await org.Api.GetJsonAsync($"/api/v1/clients/{clientId}/timeline")).AsArray(), e => e!["kind"]!.GetValue<string>() == "reply");

        await _host.AdvanceToAsync(Day5.AddMinutes(1), TimeSpan.FromMinutes(15));
        var day5 = await org.TouchAsync(clientId, "s1-day5");
        Assert.Equal(("email", "ava@example.com"), (day5["channel"]!.GetValue<string>(), day5["recipient"]!.GetValue<string>()));

        await TextAsync("Unstop");
        client = await org.ClientAsync(clientId);
        Assert.False(client["consent"]!["smsOptedOut"]!.GetValue<bool>());
        Assert.Equal("SMS keyword UNSTOP", client["consent"]!["changes"]!.AsArray()[^1]!["how"]!.GetValue<string>());
        var timeline = (await org.Api.GetJsonAsync($"/api/v1/clients/{clientId}/timeline")).AsArray();
        Assert.Contains(timeline, e => e!["kind"]!.GetValue<string>() == "consent" && e["summary"]!.GetValue<string>() == "Opted out of sms: SMS keyword STOP");
    }

    [Theory]
    [InlineData("STOPALL")]
    [InlineData("unsubscribe")]
    [InlineData("Cancel")]
    [InlineData("END")]
    [InlineData("quit")]
    [InlineData("REVOKE")]
    [InlineData("optout")]
    public async Task EveryOptOutKeywordOptsOut(string keyword)
    {
        var (org, clientId) = await SessionLoggedAsync();

        await TextAsync(keyword);

        Assert.True((await org.ClientAsync(clientId))["consent"]!["smsOptedOut"]!.GetValue<bool>());
    }

    [Fact]
    public async Task HelpRecordsNothingAndASentenceWithStopInItIsAReplyNotAnOptOut()
    {
        var (org, clientId) = await SessionLoggedAsync();
        await _host.AdvanceToAsync(Day2.AddMinutes(1));

        await TwimlAsync(await TextAsync("HELP"));
        await TwimlAsync(await TextAsync("info"));
        Assert.DoesNotContain((await org.Api.GetJsonAsync($"/api/v1/clients/{clientId}/timeline")).AsArray(), e => e!["kind"]!.GetValue<string>() == "reply");

        await TextAsync("Stop texting me at night please");
        var client = await org.ClientAsync(clientId);
        Assert.False(client["consent"]!["smsOptedOut"]!.GetValue<bool>());
        var reply = (await org.Api.GetJsonAsync($"/api/v1/clients/{clientId}/timeline")).AsArray().Single(e => e!["kind"]!.GetValue<string>() == "reply")!;
        Assert.Equal("Stop texting me at night please", reply["summary"]!.GetValue<string>());
    }

    [Fact]
    public async Task YesOptsBackInAfterStopAndIsAnOrdinaryReplyOtherwise()
    {
        var (org, clientId) = await SessionLoggedAsync();
        await _host.AdvanceToAsync(Day2.AddMinutes(1));

        // Not opted out: "YES" answers us (e.g. the slot offer) and the coach sees it.
        await TextAsync("YES");
        var timeline = (await org.Api.GetJsonAsync($"/api/v1/clients/{clientId}/timeline")).AsArray();
        Assert.Equal("YES", timeline.Single(e => e!["kind"]!.GetValue<string>() == "reply")!["summary"]!.GetValue<string>());

        await TextAsync("STOP");
        await TextAsync("yes");

        var client = await org.ClientAsync(clientId);
        Assert.False(client["consent"]!["smsOptedOut"]!.GetValue<bool>());
        Assert.Equal("SMS keyword YES", client["consent"]!["changes"]!.AsArray()[^1]!["how"]!.GetValue<string>());
        Assert.Single((await org.Api.GetJsonAsync($"/api/v1/clients/{clientId}/timeline")).AsArray(), e => e!["kind"]!.GetValue<string>() == "reply");
    }

    [Fact]
    public async Task APhoneSharedByClientsOfTwoOrgsIsAttributedToTheMostRecentOpenPromptAndLogged()
    {
        // Two coaching companies enrolled the same phone; Ben's Day-2 nudge (11:00) went out after Ava's (09:00).
        var (orgA, ava) = await SessionLoggedAsync(preferredHour: 9);
        var (orgB, ben) = await SessionLoggedAsync(preferredHour: 11, org: await Org.CreateAsync(_host), name: "Ben Costa");
        await _host.AdvanceToAsync(Day2.AddHours(2).AddMinutes(30), TimeSpan.FromMinutes(15));

        await TwimlAsync(await TextAsync("3"));

        var benReply = (await orgB.Api.GetJsonAsync($"/api/v1/clients/{ben}/timeline")).AsArray().Single(e => e!["kind"]!.GetValue<string>() == "reply")!;
        Assert.Equal(("s1-day2", 3), (benReply["promptId"]!.GetValue<string>(), benReply["rating"]!.GetValue<int>()));
        Assert.DoesNotContain((await orgA.Api.GetJsonAsync($"/api/v1/clients/{ava}/timeline")).AsArray(), e => e!["kind"]!.GetValue<string>() == "reply");
        var warning = Assert.Single(_logs.Entries, e => e.Level == LogLevel.Warning && e.Category == typeof(TwilioWebhooksApi).FullName);
        Assert.Contains("matches 2 clients", warning.Message);
        Assert.Contains(ben, warning.Message);
        Assert.Contains(ava, warning.Message);
        Assert.DoesNotContain(Phone, warning.Message);

        // STOP is about the phone: both clients are opted out.
        await TextAsync("STOP");
        Assert.True((await orgA.ClientAsync(ava))["consent"]!["smsOptedOut"]!.GetValue<bool>());
        Assert.True((await orgB.ClientAsync(ben))["consent"]!["smsOptedOut"]!.GetValue<bool>());
    }

    [Fact]
    public async Task AnSmsFromAnUnknownNumberIsAnsweredAndIgnored()
    {
        await SessionLoggedAsync();

        var twiml = await TwimlAsync(await TextAsync("4", from: "+14155559999"));

        Assert.Equal("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>", twiml);
        Assert.Equal(0, (await _host.Store.GetTimerBacklogAsync(_host.Clock.GetUtcNow(), default)).Due);
    }

    [Fact]
    public async Task AStatusCallbackForAnUnknownMessageIsAcceptedAndChangesNothing()
    {
        var response = await Twilio.PostAsTwilioAsync("/webhooks/twilio/status", ChannelTestKit.Status(ChannelTestKit.NewSid(), "delivered"));

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
    }

    [Theory]
    [InlineData("STOP", SmsKeyword.OptOut)]
    [InlineData(" stopall ", SmsKeyword.OptOut)]
    [InlineData("Start", SmsKeyword.OptIn)]
    [InlineData("UNSTOP", SmsKeyword.OptIn)]
    [InlineData("yes", SmsKeyword.Yes)]
    [InlineData("HELP", SmsKeyword.Help)]
    [InlineData("Info", SmsKeyword.Help)]
    [InlineData("stop please", SmsKeyword.None)]
    [InlineData("STOP.", SmsKeyword.None)]
    [InlineData("4", SmsKeyword.None)]
    [InlineData("", SmsKeyword.None)]
    public void KeywordsAreWholeMessagesInAnyCase(string body, SmsKeyword expected) => Assert.Equal(expected, InboundSms.Classify(body));

    [Fact]
    public void TwiliosAdvancedOptOutTypeWinsOverTheWords() =>
        Assert.Equal(SmsKeyword.OptOut, InboundSms.Classify("ARRET", optOutType: "STOP"));
}
