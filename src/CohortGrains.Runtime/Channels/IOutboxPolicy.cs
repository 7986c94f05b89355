using CohortGrains.Runtime.Storage;

namespace CohortGrains.Runtime.Channels;

/// <summary>
/// What the outbox dispatcher asks the grains about before and after a send. Kept apart from the dispatcher so it
/// stays generic: it knows rows and channels, the policy knows clients (quiet hours, consent).
/// </summary>
public interface IOutboxPolicy
{
    /// <summary>
    /// The rows of a claimed batch that must wait, each with the instant it may go out; the others are sent now. A touch
    /// can sit in the outbox past its turn (provider retries, a backlog): quiet hours are enforced again when it is
    /// sent. Asked once per batch, just before its sends start, so a batch reads what it needs in one go.
    /// </summary>
    Task<IReadOnlyDictionary<long, DateTimeOffset>> HoldsAsync(IReadOnlyList<ClaimedOutbox> rows, DateTimeOffset now, CancellationToken ct);

    /// <summary>
    /// The provider says the recipient unsubscribed from the sender. Must be durable before the row is completed
    /// (a crash in between re-sends, gets the same answer, and calls this again), so implementations are idempotent.
    /// </summary>
    Task RecipientOptedOutAsync(ClaimedOutbox row, SendOutcome.RecipientOptedOut outcome, CancellationToken ct);
}
