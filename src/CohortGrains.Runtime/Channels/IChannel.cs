using CohortGrains.Runtime.Storage;

namespace CohortGrains.Runtime.Channels;

/// <summary>One way out to a client (SMS, email, in-app). The outbox dispatcher calls it; it never throws for provider faults.</summary>
public interface IChannel
{
    /// <summary>The outbox channel name it serves ("sms", "email", "inapp").</summary>
    string Name { get; }

    Task<SendOutcome> SendAsync(ClaimedOutbox message, CancellationToken ct);
}

public abstract record SendOutcome
{
    public sealed record Accepted(string? ProviderMessageId, string ProviderStatus) : SendOutcome;
    /// <summary>Worth retrying later (429, 5xx, network).</summary>
    public sealed record Transient(string Error, TimeSpan? RetryAfter = null) : SendOutcome;
    /// <summary>Will never succeed as sent (bad number, rejected content): shown to the coach.</summary>
    public sealed record Permanent(string Error, string? ErrorCode = null) : SendOutcome;
    /// <summary>
    /// The recipient unsubscribed from this sender (Twilio 21610): not retried, not an error. The client's SMS consent
    /// is withdrawn for <paramref name="Sender"/> and the touch goes again by another channel.
    /// </summary>
    public sealed record RecipientOptedOut(string Error, string ErrorCode, string? Sender) : SendOutcome;
}
