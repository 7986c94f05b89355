using CohortGrains.Runtime.Storage;

namespace CohortGrains.Runtime.Channels;

/// <summary>
/// What the outbox dispatcher asks the grains about before and after a send. Kept apart from the dispatcher so it
/// stays generic: it knows rows and channels, the policy knows clients (quiet hours, consent).
/// </summary>
public interface IOutboxPolicy
{
    /// <summary>
    /// Null to send now; otherwise the instant the row may go out. A touch can sit in the outbox past its turn
    /// (provider retries, a backlog): quiet hours are enforced again at the moment of sending.
    /// </summary>
    Task<DateTimeOffset?> HoldUntilAsync(ClaimedOutbox row, DateTimeOffset now, CancellationToken ct);

    /// <summary>
    /// The provider says the recipient unsubscribed from the sender. Must be durable before the row is completed
    /// (a crash in between re-sends, gets the same answer, and calls this again), so implementations are idempotent.
    /// </summary>
    Task RecipientOptedOutAsync(ClaimedOutbox row, SendOutcome.RecipientOptedOut outcome, CancellationToken ct);
}
