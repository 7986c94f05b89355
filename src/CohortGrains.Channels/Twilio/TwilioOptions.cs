namespace CohortGrains.Channels.Twilio;

/// <summary>Configuration section "Twilio". SMS goes through Twilio only when <see cref="IsConfigured"/>.</summary>
public sealed class TwilioOptions
{
    public const string Section = "Twilio";
    public const string StatusCallbackPath = "/webhooks/twilio/status";
    public const string InboundPath = "/webhooks/twilio/inbound";

    public string? AccountSid { get; set; }
    /// <summary>Signs our API calls (Basic auth) and verifies Twilio's webhooks (X-Twilio-Signature).</summary>
    public string? AuthToken { get; set; }
    /// <summary>Our sending number in E.164; or use <see cref="MessagingServiceSid"/>.</summary>
    public string? From { get; set; }
    /// <summary>A Messaging Service (MG…) to send from; wins over <see cref="From"/> when both are set.</summary>
    public string? MessagingServiceSid { get; set; }
    /// <summary>Twilio's REST API; tests point it at a local fake.</summary>
    public string BaseUrl { get; set; } = "https://api.twilio.com";
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    public bool IsConfigured =>
        !string.IsNullOrWhiteSpace(AccountSid) && !string.IsNullOrWhiteSpace(AuthToken) &&
        (!string.IsNullOrWhiteSpace(From) || !string.IsNullOrWhiteSpace(MessagingServiceSid));

    /// <summary>Who the client sees the SMS from: the messaging service or the number. Opt-outs are per sender.</summary>
    public string? Sender => string.IsNullOrWhiteSpace(MessagingServiceSid) ? From?.Trim() : MessagingServiceSid.Trim();

    /// <summary>
    /// The StatusCallback we pass on each message: PublicBaseUrl + <see cref="StatusCallbackPath"/>; none while
    /// PublicBaseUrl is a loopback address Twilio could not reach.
    /// </summary>
    public static string? StatusCallbackUrl(PublicUrlOptions publicUrl) =>
        publicUrl.ExternalBaseUrl is { } external ? external + StatusCallbackPath : null;
}
