using System.Text.RegularExpressions;
using CohortGrains.Channels;
using CohortGrains.Channels.Twilio;
using CohortGrains.Domain.ClientLoops;
using CohortGrains.Domain.Common;
using CohortGrains.Runtime;
using CohortGrains.Runtime.Grains;
using CohortGrains.Runtime.Storage;
using Microsoft.Extensions.Options;

namespace CohortGrains.Host.Webhooks;

/// <summary>
/// Twilio's webhooks: message status callbacks and inbound SMS. Anonymous to our API-key scheme, because Twilio
/// proves itself with X-Twilio-Signature instead: every request is verified before anything is read or recorded.
/// </summary>
public static partial class TwilioWebhooksApi
{
    private const string EmptyTwiml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>";
    private const int MaxCandidates = 20;

    public static RouteGroupBuilder MapTwilioWebhooks(this RouteGroupBuilder webhooks)
    {
        var twilio = webhooks.MapGroup("/twilio").AllowAnonymous().AddEndpointFilter(VerifySignatureAsync);
        twilio.MapPost("/status", StatusAsync).WithName("TwilioStatusCallback");
        twilio.MapPost("/inbound", InboundAsync).WithName("TwilioInboundSms");
        return webhooks;
    }

    /// <summary>Invalid or missing signature (or no auth token configured to check it with) → 403, and the handler never runs.</summary>
    private static async ValueTask<object?> VerifySignatureAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var options = http.RequestServices.GetRequiredService<IOptions<TwilioOptions>>().Value;
        var form = http.Request.HasFormContentType ? await http.Request.ReadFormAsync(http.RequestAborted) : null;
        var signature = http.Request.Headers[TwilioSignature.Header].ToString();
        var url = SignedUrl(http.Request, http.RequestServices.GetRequiredService<IOptions<PublicUrlOptions>>().Value);
        if (!TwilioSignature.IsValid(options.AuthToken, url, form ?? Enumerable.Empty<KeyValuePair<string, Microsoft.Extensions.Primitives.StringValues>>(), signature))
        {
            http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(TwilioWebhooksApi))
                .LogWarning("Rejected a Twilio webhook to {Url}: {Reason}", url,
                    string.IsNullOrEmpty(options.AuthToken) ? "Twilio:AuthToken is not configured" : string.IsNullOrEmpty(signature) ? "no X-Twilio-Signature" : "signature mismatch");
            return TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Forbidden",
                detail: "The request is not signed by Twilio for this URL (X-Twilio-Signature).");
        }
        return await next(context);
    }

    /// <summary>
    /// The URL Twilio signed. Behind a proxy the node sees another scheme, host or port, so PublicBaseUrl wins; the
    /// path and query are the request's own, unchanged. While PublicBaseUrl is a loopback address (the default, which
    /// Twilio cannot reach) the request's own URL is the best guess.
    /// </summary>
    public static string SignedUrl(HttpRequest request, PublicUrlOptions publicUrl)
    {
        var pathAndQuery = request.PathBase.ToUriComponent() + request.Path.ToUriComponent() + request.QueryString.ToUriComponent();
        return publicUrl.ExternalBaseUrl is { } external
            ? external + pathAndQuery
            : $"{request.Scheme}://{request.Host.ToUriComponent()}{pathAndQuery}";
    }

    /// <summary>
    /// Twilio reports each status change of a message (queued, sent, delivered, undelivered, failed …) with its
    /// ErrorCode. Unknown fields are ignored. A late 21610 (common with Messaging Services, which accept first and
    /// check the opt-out list later) is handled like one returned at send time: the loop opts out and falls back to email.
    /// </summary>
    private static async Task<IResult> StatusAsync(HttpContext http, IGrainStore store, GrainRuntime runtime, TimeProvider clock,
        IOptions<TwilioOptions> options, ILoggerFactory loggers, CancellationToken ct)
    {
        var form = await http.Request.ReadFormAsync(ct);
        var sid = First(form, "MessageSid", "SmsSid");
        var status = First(form, "MessageStatus", "SmsStatus")?.ToLowerInvariant();
        var errorCode = First(form, "ErrorCode");
        if (sid is null || !Sid().IsMatch(sid) || status is null || !Status().IsMatch(status))
            return TypedResults.Problem(statusCode: 400, title: "Bad request", detail: "MessageSid and MessageStatus are required");
        if (errorCode is not null && !ErrorCode().IsMatch(errorCode)) errorCode = null;

        var log = loggers.CreateLogger(typeof(TwilioWebhooksApi));
        if (!await store.UpdateDeliveryStatusAsync(sid, status, errorCode, clock.GetUtcNow(), ct))
            log.LogDebug("Status callback for unknown message {Sid} ({Status})", sid, status);

        if (errorCode == TwilioSmsChannel.UnsubscribedRecipient && await store.FindOutboxByProviderMessageIdAsync(sid, ct) is
            { Channel: ChannelNames.Sms, Grain.Type: ClientLoopDecider.GrainType } row)
        {
            var sender = options.Value.Sender ?? First(form, "From");
            log.LogInformation("Message {Sid} to client {Client} was refused: the number unsubscribed from sender {Sender} (21610); opting out of SMS",
                sid, row.Grain, sender);
            await runtime.PostAsync([(row.Grain, new SmsSenderBlocked(ClientLoopOutboxPolicy.TouchId(row.IdempotencyKey), sender,
                errorCode, $"SMS provider error {errorCode}: the number unsubscribed from sender {sender ?? "(unknown)"}"))], ct);
        }
        return TypedResults.NoContent();
    }

    /// <summary>
    /// An SMS from a client: a carrier keyword updates SMS consent (for every client on that phone: the carrier blocks the
    /// number, not a person); HELP records nothing; anything else is a check-in reply for the client and prompt it answers.
    /// Everything is queued durably in one transaction, then Twilio gets empty TwiML (Twilio itself answers the keywords).
    /// </summary>
    private static async Task<IResult> InboundAsync(HttpContext http, IGrainStore store, GrainRuntime runtime, ILoggerFactory loggers, CancellationToken ct)
    {
        var form = await http.Request.ReadFormAsync(ct);
        var from = First(form, "From");
        var to = First(form, "To");
        var body = form["Body"].ToString();
        // The sid makes a redelivered webhook a no-op; anything not shaped like one is simply not used.
        var sid = First(form, "MessageSid", "SmsSid") is { } given && Sid().IsMatch(given) ? given : null;
        if (from is null) return TypedResults.Problem(statusCode: 400, title: "Bad request", detail: "From is required");
        var log = loggers.CreateLogger(typeof(TwilioWebhooksApi));

        var candidates = new List<InboundCandidate>();
        foreach (var row in await store.FindGrainsByPhoneAsync(ClientLoopDecider.GrainType, from, MaxCandidates, ct))
        {
            if (await runtime.GetAsync<ClientLoopState>(row.Id, ct) is { } state) candidates.Add(new InboundCandidate(row.Id, state, row.UpdatedAt));
        }
        if (candidates.Count == 0)
        {
            log.LogInformation("Inbound SMS {Sid} from {Phone}, which no client has: ignored", sid, InboundSms.Mask(from));
            return Twiml();
        }

        var keyword = InboundSms.Classify(body, First(form, "OptOutType"));
        var word = body.Trim().ToUpperInvariant();
        var messages = new List<(GrainId, object)>();
        switch (keyword)
        {
            case SmsKeyword.OptOut:
                messages.AddRange(candidates.Select(c => (c.Id, (object)new ChannelOptedOut(Channel.Sms, $"SMS keyword {word}", to))));
                log.LogInformation("SMS {Keyword} from {Phone}: {Count} client(s) opted out of SMS", word, InboundSms.Mask(from), candidates.Count);
                break;
            case SmsKeyword.OptIn:
                messages.AddRange(candidates.Select(c => (c.Id, (object)new ChannelOptedIn(Channel.Sms, $"SMS keyword {word}", to))));
                log.LogInformation("SMS {Keyword} from {Phone}: {Count} client(s) opted in to SMS", word, InboundSms.Mask(from), candidates.Count);
                break;
            case SmsKeyword.Help:
                // Twilio answers HELP itself; it is not a check-in.
                log.LogInformation("SMS {Keyword} from {Phone}: nothing recorded", word, InboundSms.Mask(from));
                break;
            case SmsKeyword.Yes:
                // YES is Twilio's opt-in keyword only for a number that opted out (Twilio then unblocks it); for everyone
                // else it is a reply, usually to our slot offer ("Reply YES to take it"), and the coach should see it.
                // A client who opted out cannot have received an offer by SMS, so the two readings never compete.
                foreach (var c in candidates.Where(c => c.State.Consent.SmsOptedOut))
                    messages.Add((c.Id, new ChannelOptedIn(Channel.Sms, "SMS keyword YES", to)));
                if (Reply(candidates.Where(c => !c.State.Consent.SmsOptedOut).ToList(), body, sid, from, log) is { } yes) messages.Add(yes);
                break;
            default:
                if (string.IsNullOrWhiteSpace(body))
                {
                    log.LogInformation("Inbound SMS {Sid} from {Phone} has no text (media only): not a check-in", sid, InboundSms.Mask(from));
                    break;
                }
                if (Reply(candidates, body, sid, from, log) is { } reply) messages.Add(reply);
                break;
        }
        if (messages.Count > 0) await runtime.PostAsync(messages, ct);
        return Twiml();
    }

    private static (GrainId, object)? Reply(IReadOnlyList<InboundCandidate> candidates, string body, string? sid, string from, ILogger log)
    {
        if (InboundSms.Attribute(candidates) is not { } a) return null;
        if (a.Others.Count > 0)
        {
            log.LogWarning("Inbound SMS {Sid} from {Phone} matches {Count} clients: attributed to {Client} (prompt {Prompt}) by the most recent open prompt; also {Others}",
                sid, InboundSms.Mask(from), a.Others.Count + 1, a.Client.Id, a.PromptId ?? "none", string.Join(", ", a.Others.Select(o => o.Id)));
        }
        var text = TwilioSmsChannel.FitBody(body.Trim(), CheckIns.CheckInsApi.MaxReplyLength);
        return (a.Client.Id, new CheckInReplied(null, text, a.PromptId, Channel.Sms, sid));
    }

    private static IResult Twiml() => TypedResults.Text(EmptyTwiml, "text/xml", System.Text.Encoding.UTF8);

    private static string? First(IFormCollection form, params string[] names) =>
        names.Select(n => form[n].ToString().Trim()).FirstOrDefault(v => v.Length > 0);

    [GeneratedRegex("^[A-Za-z]{2}[0-9a-fA-F]{32}$")]
    private static partial Regex Sid();

    [GeneratedRegex("^[a-z_-]{1,32}$")]
    private static partial Regex Status();

    [GeneratedRegex("^[0-9]{1,10}$")]
    private static partial Regex ErrorCode();
}
