using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using CohortGrains.Runtime.Channels;
using CohortGrains.Runtime.Grains;
using CohortGrains.Runtime.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CohortGrains.Channels.Twilio;

/// <summary>
/// SMS through Twilio's REST API (no SDK on our feed): POST /2010-04-01/Accounts/{sid}/Messages.json, form-encoded,
/// HTTP Basic auth with the account SID and auth token. Never throws for provider faults: every answer becomes a
/// <see cref="SendOutcome"/> the outbox dispatcher records (retry, fail with Twilio's reason, or opt-out).
/// </summary>
public sealed partial class TwilioSmsChannel(HttpClient http, IOptions<TwilioOptions> options, IOptions<PublicUrlOptions> publicUrl, TimeProvider clock, ILogger<TwilioSmsChannel> logger) : IChannel
{
    /// <summary>Twilio refuses longer bodies (1,600 characters).</summary>
    public const int MaxBodyLength = 1600;
    /// <summary>"Attempt to send to unsubscribed recipient": the number texted STOP to this sender.</summary>
    public const string UnsubscribedRecipient = "21610";

    private readonly TwilioOptions _options = options.Value;

    public string Name => ChannelNames.Sms;

    public async Task<SendOutcome> SendAsync(ClaimedOutbox message, CancellationToken ct)
    {
        if (!E164().IsMatch(message.Recipient))
            return new SendOutcome.Permanent($"'{message.Recipient}' is not a phone number in E.164 form (+ and 8–15 digits)");

        var form = new List<KeyValuePair<string, string>>
        {
            new("To", message.Recipient),
            new("Body", FitBody(message.Body)),
        };
        var sender = _options.Sender ?? throw new InvalidOperationException("Twilio:From or Twilio:MessagingServiceSid is required");
        form.Add(new(string.IsNullOrWhiteSpace(_options.MessagingServiceSid) ? "From" : "MessagingServiceSid", sender));
        if (TwilioOptions.StatusCallbackUrl(publicUrl.Value) is { } callback) form.Add(new("StatusCallback", callback));

        using var request = new HttpRequestMessage(HttpMethod.Post, MessagesUri()) { Content = new FormUrlEncodedContent(form) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic",
            Convert.ToBase64String(Encoding.UTF8.GetBytes($"{_options.AccountSid}:{_options.AuthToken}")));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));

        try
        {
            using var response = await http.SendAsync(request, ct);
            var json = await ReadJsonAsync(response, ct);
            return Interpret(response, json, sender);
        }
        catch (HttpRequestException e)
        {
            return new SendOutcome.Transient($"Twilio unreachable: {e.Message}");
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            // HttpClient's own timeout, not our shutdown: the request may or may not have reached Twilio; retry.
            return new SendOutcome.Transient($"Twilio did not answer within {http.Timeout.TotalSeconds:0} s");
        }
    }

    private Uri MessagesUri() =>
        new($"{_options.BaseUrl.TrimEnd('/')}/2010-04-01/Accounts/{Uri.EscapeDataString(_options.AccountSid ?? "")}/Messages.json");

    private SendOutcome Interpret(HttpResponseMessage response, JsonElement? json, string sender)
    {
        var status = (int)response.StatusCode;
        var code = json is { } j && j.TryGetProperty("code", out var c) && c.ValueKind == JsonValueKind.Number ? c.GetInt32().ToString(CultureInfo.InvariantCulture) : null;
        var text = json is { } k && k.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
        var reason = code is null ? $"Twilio answered {status}{(text is null ? "" : ": " + text)}" : $"Twilio error {code}: {text ?? response.ReasonPhrase}";

        if (response.IsSuccessStatusCode)
        {
            var sid = json is { } s && s.TryGetProperty("sid", out var sidValue) ? sidValue.GetString() : null;
            var providerStatus = json is { } t && t.TryGetProperty("status", out var st) ? st.GetString() : null;
            logger.LogDebug("Twilio accepted outbox message as {Sid} ({Status})", sid, providerStatus);
            return new SendOutcome.Accepted(sid, providerStatus ?? "queued");
        }
        if (response.StatusCode == HttpStatusCode.TooManyRequests || status >= 500)
            return new SendOutcome.Transient(reason, RetryAfter(response));
        // Wrong or rotated credentials are the operator's to fix, not the touch's fault: retry (bounded) so the
        // messages of those minutes go out once the configuration is right instead of failing for good.
        if (response.StatusCode == HttpStatusCode.Unauthorized)
            return new SendOutcome.Transient($"{reason} (check Twilio:AccountSid and Twilio:AuthToken)", RetryAfter(response));
        if (code == UnsubscribedRecipient)
            return new SendOutcome.RecipientOptedOut(reason, UnsubscribedRecipient, sender);
        return new SendOutcome.Permanent(reason, code);
    }

    private static async Task<JsonElement?> ReadJsonAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var body = await response.Content.ReadAsStringAsync(ct);
        if (string.IsNullOrWhiteSpace(body)) return null;
        try
        {
            using var doc = JsonDocument.Parse(body);
            return doc.RootElement.ValueKind == JsonValueKind.Object ? doc.RootElement.Clone() : null;
        }
        catch (JsonException)
        {
            return null; // a proxy's HTML error page: the status code still decides
        }
    }

    /// <summary>Retry-After as seconds or a date; capped at a day so a bad header cannot park a touch for good.</summary>
    private TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        var header = response.Headers.RetryAfter;
        var delay = header?.Delta ?? (header?.Date is { } date ? date - clock.GetUtcNow() : null);
        if (delay is not { } d || d <= TimeSpan.Zero) return null;
        return d > TimeSpan.FromDays(1) ? TimeSpan.FromDays(1) : d;
    }

    /// <summary>
    /// Bodies over 1,600 characters are truncated, not split: one touch is one message with one provider id and one
    /// delivery status. The cut falls on a grapheme boundary (never inside an emoji or a surrogate pair) and ends in "…".
    /// Our templates are far shorter; this only guards custom templates with long commitments.
    /// </summary>
    public static string FitBody(string body, int max = MaxBodyLength)
    {
        if (body.Length <= max) return body;
        const string ellipsis = "…";
        var budget = max - ellipsis.Length;
        var end = 0;
        var elements = StringInfo.GetTextElementEnumerator(body);
        while (elements.MoveNext())
        {
            var next = elements.ElementIndex + ((string)elements.Current).Length;
            if (next > budget) break;
            end = next;
        }
        return body[..end].TrimEnd() + ellipsis;
    }

    [GeneratedRegex(@"^\+[1-9][0-9]{7,14}$")]
    private static partial Regex E164();
}
