using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CohortGrains.Channels.Tests.Fakes;

/// <summary>One POST to Messages.json as the fake saw it, with what Twilio would have said about it.</summary>
public sealed record TwilioCall(string Path, IReadOnlyDictionary<string, string> Form, int Status, string? Sid, string? Refused);

/// <summary>A scripted answer for the next call: status, Twilio error code and message, Retry-After seconds.</summary>
public sealed record FakeAnswer(int Status, int? Code = null, string? Message = null, int? RetryAfterSeconds = null, TimeSpan? Delay = null);

/// <summary>
/// Twilio's Messages endpoint on 127.0.0.1 (Kestrel, a free port), checking what Twilio checks: the account in the
/// path, HTTP Basic auth with that account's token, a form body, To in E.164, From or MessagingServiceSid, a Body of at
/// most 1,600 characters. A request Twilio would refuse for our own mistake is answered as Twilio would (400/401) and
/// listed in <see cref="Refusals"/>, which tests expect to stay empty. Answers can be scripted (429, 500, …); some
/// numbers behave like Twilio's test numbers: <see cref="InvalidNumber"/> → 21211, <see cref="OptedOut"/> → 21610.
/// </summary>
public sealed partial class FakeTwilio : IAsyncDisposable
{
    public const string AccountSid = "AC0123456789abcdef0123456789abcdef";
    public const string AuthToken = "f3c1e0b2a4d6c8e0f1a3b5c7d9e1f3a5";
    public const string From = "+15005550006";
    /// <summary>Twilio's magic test number for "invalid number" (21211).</summary>
    public const string InvalidNumber = "+15005550001";

    private readonly WebApplication _app;
    private readonly ConcurrentQueue<FakeAnswer> _script = new();
    private readonly ConcurrentQueue<TwilioCall> _calls = new();
    private int _sequence;

    /// <summary>Numbers that texted STOP to our sender: Twilio answers 21610.</summary>
    public ConcurrentDictionary<string, bool> OptedOut { get; } = new();

    /// <summary>Answer every otherwise unscripted call with this (e.g. a permanent 500).</summary>
    public FakeAnswer? Always { get; set; }

    public string BaseUrl { get; private set; } = "";

    private FakeTwilio(WebApplication app) => _app = app;

    public IReadOnlyList<TwilioCall> Calls => _calls.ToList();

    public IReadOnlyList<TwilioCall> Refusals => _calls.Where(c => c.Refused is not null).ToList();

    public void Then(params FakeAnswer[] answers)
    {
        foreach (var a in answers) _script.Enqueue(a);
    }

    public static async Task<FakeTwilio> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var fake = new FakeTwilio(app);
        app.MapPost("/2010-04-01/Accounts/{account}/Messages.json", (string account, HttpContext http) => fake.HandleAsync(account, http));
        await app.StartAsync();
        fake.BaseUrl = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return fake;
    }

    private async Task<IResult> HandleAsync(string account, HttpContext http)
    {
        var form = http.Request.HasFormContentType
            ? (await http.Request.ReadFormAsync()).ToDictionary(f => f.Key, f => f.Value.ToString())
            : new Dictionary<string, string>();
        var path = http.Request.Path.Value!;

        if (Refuse(account, http, form) is { } refusal)
        {
            _calls.Enqueue(new TwilioCall(path, form, refusal.Status, null, refusal.Message));
            return Error(refusal.Status, refusal.Code, refusal.Message);
        }

        var to = form["To"];
        var answer = _script.TryDequeue(out var scripted) ? scripted
            : to == InvalidNumber ? new FakeAnswer(400, 21211, $"The 'To' number {to} is not a valid phone number.")
            : OptedOut.ContainsKey(to) ? new FakeAnswer(400, 21610, "Attempt to send to unsubscribed recipient")
            : Always ?? new FakeAnswer(201);
        if (answer.Delay is { } delay) await Task.Delay(delay, http.RequestAborted);

        if (answer.Status != 201)
        {
            _calls.Enqueue(new TwilioCall(path, form, answer.Status, null, null));
            if (answer.RetryAfterSeconds is { } seconds) http.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            return Error(answer.Status, answer.Code ?? (answer.Status == 429 ? 20429 : answer.Status), answer.Message ?? (answer.Status == 429 ? "Too Many Requests" : "Internal Server Error"));
        }

        var sid = "SM" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"msg-{Interlocked.Increment(ref _sequence)}")))[..32];
        _calls.Enqueue(new TwilioCall(path, form, 201, sid, null));
        var viaService = form.ContainsKey("MessagingServiceSid");
        var now = DateTimeOffset.UtcNow.ToString("ddd, dd MMM yyyy HH:mm:ss +0000", CultureInfo.InvariantCulture);
        return Results.Json(new Dictionary<string, object?>
        {
            ["account_sid"] = AccountSid, ["api_version"] = "2010-04-01", ["body"] = form["Body"], ["date_created"] = now,
            ["date_sent"] = null, ["date_updated"] = now, ["direction"] = "outbound-api", ["error_code"] = null, ["error_message"] = null,
            ["from"] = viaService ? null : form.GetValueOrDefault("From"), ["messaging_service_sid"] = form.GetValueOrDefault("MessagingServiceSid"),
            ["num_media"] = "0", ["num_segments"] = viaService ? "0" : "1", ["price"] = null, ["price_unit"] = "USD", ["sid"] = sid,
            // Twilio: "queued" for a plain number, "accepted" when a Messaging Service picks the sender.
            ["status"] = viaService ? "accepted" : "queued", ["to"] = to,
            ["uri"] = $"/2010-04-01/Accounts/{AccountSid}/Messages/{sid}.json",
        }, statusCode: 201);
    }

    private sealed record Refusal(int Status, int Code, string Message);

    private static Refusal? Refuse(string account, HttpContext http, Dictionary<string, string> form)
    {
        if (!AuthenticationHeaderValue.TryParse(http.Request.Headers.Authorization, out var auth) || auth.Scheme != "Basic" ||
            Encoding.UTF8.GetString(Convert.FromBase64String(auth.Parameter ?? "")) != $"{AccountSid}:{AuthToken}" || account != AccountSid)
            return new(401, 20003, "Authenticate");
        if (!http.Request.HasFormContentType) return new(400, 21602, "Message body is required (the request was not form-encoded).");
        if (!form.TryGetValue("To", out var to) || to.Length == 0) return new(400, 21604, "A 'To' phone number is required.");
        if (!E164().IsMatch(to)) return new(400, 21211, $"The 'To' number {to} is not a valid phone number.");
        if (!form.ContainsKey("From") && !form.ContainsKey("MessagingServiceSid")) return new(400, 21603, "A 'From' or 'MessagingServiceSid' parameter is required to send a message.");
        if (!form.TryGetValue("Body", out var body) || body.Length == 0) return new(400, 21602, "Message body is required.");
        if (body.Length > 1600) return new(400, 21617, "The concatenated message body exceeds the 1600 character limit.");
        if (form.TryGetValue("StatusCallback", out var callback) && !Uri.TryCreate(callback, UriKind.Absolute, out _))
            return new(400, 21609, "Invalid StatusCallback URL.");
        return null;
    }

    private static IResult Error(int status, int code, string message) =>
        Results.Text(JsonSerializer.Serialize(new { code, message, more_info = $"https://www.twilio.com/docs/errors/{code}", status }),
            "application/json", Encoding.UTF8, status);

    [GeneratedRegex(@"^\+[1-9][0-9]{7,14}$")]
    private static partial Regex E164();

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
