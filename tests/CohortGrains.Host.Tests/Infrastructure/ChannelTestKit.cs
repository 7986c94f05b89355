using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using CohortGrains.Channels.Tests.Fakes;
using CohortGrains.Channels.Twilio;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;

namespace CohortGrains.Host.Tests.Infrastructure;

/// <summary>Twilio and SMTP wired into a <see cref="TestHost"/>, and Twilio's side of the webhooks (signed requests).</summary>
public static class ChannelTestKit
{
    public const string PublicBaseUrl = "https://coach.example.com";

    public static LogCapture CaptureLogs(this TestHost host)
    {
        var capture = new LogCapture();
        host.ServiceOverrides.Add(capture.Attach);
        return capture;
    }

    public static void UseTwilio(this TestHost host, FakeTwilio twilio, bool publicUrl = true)
    {
        host.Settings["Twilio:AccountSid"] = FakeTwilio.AccountSid;
        host.Settings["Twilio:AuthToken"] = FakeTwilio.AuthToken;
        host.Settings["Twilio:From"] = FakeTwilio.From;
        host.Settings["Twilio:BaseUrl"] = twilio.BaseUrl;
        if (publicUrl) host.Settings["PublicBaseUrl"] = PublicBaseUrl;
    }

    /// <summary>Only the auth token, for webhook tests that never send (the SMS channel then stays the recording one).</summary>
    public static void UseTwilioWebhooksOnly(this TestHost host, bool publicUrl = true)
    {
        host.Settings["Twilio:AuthToken"] = FakeTwilio.AuthToken;
        if (publicUrl) host.Settings["PublicBaseUrl"] = PublicBaseUrl;
    }

    public static void UseSmtp(this TestHost host, SmtpSink smtp)
    {
        host.Settings["Smtp:Host"] = "127.0.0.1";
        host.Settings["Smtp:Port"] = smtp.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        host.Settings["Smtp:StartTls"] = "false";
        host.Settings["Smtp:From"] = "maya@northstar.example";
        host.Settings["Smtp:FromName"] = "Maya Chen";
        // The test client talks to the in-process host at http://localhost, so the links in emails must point there
        // (unless a test set the public URL already, e.g. Twilio's).
        host.Settings.TryAdd("PublicBaseUrl", "http://localhost");
    }

    public static string NewSid(string prefix = "SM") => prefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    /// <summary>What Twilio posts for an inbound SMS (a realistic subset of its fields).</summary>
    public static Dictionary<string, string> Inbound(string from, string body, string? sid = null) => new()
    {
        ["ToCountry"] = "US", ["ToState"] = "CA", ["SmsMessageSid"] = sid ?? NewSid(), ["NumMedia"] = "0", ["ToCity"] = "",
        ["FromZip"] = "94105", ["SmsSid"] = sid ?? NewSid(), ["FromState"] = "CA", ["SmsStatus"] = "received", ["FromCity"] = "SAN FRANCISCO",
        ["Body"] = body, ["FromCountry"] = "US", ["To"] = FakeTwilio.From, ["ToZip"] = "", ["NumSegments"] = "1",
        ["MessageSid"] = sid ?? NewSid(), ["AccountSid"] = FakeTwilio.AccountSid, ["From"] = from, ["ApiVersion"] = "2010-04-01",
    };

    /// <summary>What Twilio posts to a StatusCallback, including fields we do not use.</summary>
    public static Dictionary<string, string> Status(string sid, string status, string? errorCode = null)
    {
        var form = new Dictionary<string, string>
        {
            ["SmsSid"] = sid, ["SmsStatus"] = status, ["MessageStatus"] = status, ["To"] = "+14155550101", ["MessageSid"] = sid,
            ["AccountSid"] = FakeTwilio.AccountSid, ["From"] = FakeTwilio.From, ["ApiVersion"] = "2010-04-01",
            ["RawDlrDoneDate"] = "2603051401", ["ChannelToAddress"] = "+1415555XXXX",
        };
        if (errorCode is not null) form["ErrorCode"] = errorCode;
        return form;
    }

    /// <summary>Posts the form as Twilio would: signed over <paramref name="signedUrl"/> (default: the public URL + path) with <paramref name="token"/>.</summary>
    public static Task<HttpResponseMessage> PostAsTwilioAsync(this HttpClient client, string path, Dictionary<string, string> form,
        string? signedUrl = null, string token = FakeTwilio.AuthToken, bool sign = true)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new FormUrlEncodedContent(form) };
        if (sign)
        {
            var url = signedUrl ?? PublicBaseUrl + path;
            request.Headers.Add(TwilioSignature.Header, TwilioSignature.Compute(token, url, form.Select(f => new KeyValuePair<string, StringValues>(f.Key, f.Value))));
        }
        return client.SendAsync(request);
    }

    public static async Task<JsonArray> TouchesAsync(this Org org, string clientId) =>
        (await org.Api.GetJsonAsync($"/api/v1/touches?clientId={clientId}"))["touches"]!.AsArray();

    public static async Task<JsonNode> TouchAsync(this Org org, string clientId, string touchId) =>
        (await org.TouchesAsync(clientId)).Single(t => t!["touchId"]!.GetValue<string>() == touchId)!;

    public static Task<JsonNode> ClientAsync(this Org org, string clientId) => org.Api.GetJsonAsync($"/api/v1/clients/{clientId}");

    /// <summary>Moves the fake clock to <paramref name="at"/>, running what falls due on the way (1-minute steps by default).</summary>
    public static Task AdvanceToAsync(this TestHost host, DateTimeOffset at, TimeSpan? step = null) =>
        at > host.Clock.GetUtcNow() ? host.AdvanceAsync(at - host.Clock.GetUtcNow(), step ?? TimeSpan.FromMinutes(1)) : host.PumpAsync();
}
