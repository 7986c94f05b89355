namespace CohortGrains.Runtime.Storage;

/// <summary>
/// Everything the grain runtime needs from a database. One implementation per engine
/// (SQLite embedded, PostgreSQL for a cluster); both must pass the same contract suite.
/// All instants are UTC <see cref="DateTimeOffset"/>s taken from the caller's clock, never the database's,
/// so a fake clock drives the whole store in tests.
/// It includes the cluster's membership table (<see cref="IMembershipStore"/>), so a store wrapped by a decorator still
/// carries it.
/// </summary>
public interface IGrainStore : IMembershipStore
{
    /// <summary>Applies the numbered migrations that are not applied yet. Safe to call from several nodes at once.</summary>
    Task MigrateAsync(CancellationToken ct);

    /// <summary>True when the store answers and every migration this build knows is applied.</summary>
    Task<bool> IsReadyAsync(CancellationToken ct);

    Task<StoredGrain?> LoadAsync(GrainId id, CancellationToken ct);

    /// <summary>The grains of several ids in one read (for a reader that needs many at once); ids without a grain are left out, the rest come in no particular order.</summary>
    Task<IReadOnlyList<StoredGrain>> LoadManyAsync(IReadOnlyCollection<GrainId> ids, CancellationToken ct);

    /// <summary>
    /// Runs several grain turns in ONE transaction (group commit: a busy node pays one commit for many turns). Each turn
    /// is what it would be alone: lock the grain row, check the trigger is still ours (a timer trigger must still exist
    /// with the attempt we claimed — fencing), call its decide with the current row (null when the grain does not exist
    /// yet), then write the new state (version + 1), its projection, its touch facts (upserted by touch id), timer
    /// upserts and cancels, outbox rows and messages to other grains, and delete the trigger timer.
    /// Several turns of one grain run in the order given, each seeing the state the one before it wrote.
    /// When decide returns <see cref="TurnDecision.Reject"/> nothing is written except that a timer trigger is still
    /// consumed. When the trigger is no longer ours nothing is written and <see cref="TurnOutcome.Fenced"/> is returned
    /// without calling decide. Outbox rows whose idempotency key already exists are skipped (never enqueued twice).
    /// A turn whose decide throws, or whose writes the database refuses, comes back <see cref="TurnOutcome.Faulted"/>
    /// with nothing of it written, and does not take the other turns down with it. Returns one outcome per turn, in order.
    /// </summary>
    Task<IReadOnlyList<TurnOutcome>> RunTurnsAsync(IReadOnlyList<TurnRequest> turns, CancellationToken ct);

    /// <summary>Writes messages to grains durably, all or none (fan-out from the gateway). Each becomes a timer due now.</summary>
    Task EnqueueMessagesAsync(IReadOnlyList<MessageWrite> messages, DateTimeOffset now, CancellationToken ct);

    /// <summary>
    /// Claims up to <paramref name="max"/> timers with due_at &lt;= now whose lease is free or expired, oldest first,
    /// leasing them to <paramref name="owner"/> until now + lease and bumping their attempt. Never returns a timer
    /// that another owner holds an unexpired lease on (Postgres: FOR UPDATE SKIP LOCKED).
    /// </summary>
    Task<IReadOnlyList<ClaimedTimer>> ClaimDueTimersAsync(string owner, DateTimeOffset now, int max, TimeSpan lease, CancellationToken ct);

    /// <summary>Claims pending outbox rows whose next attempt is due, like timers.</summary>
    Task<IReadOnlyList<ClaimedOutbox>> ClaimOutboxAsync(string owner, DateTimeOffset now, int max, TimeSpan lease, CancellationToken ct);

    /// <summary>
    /// Records the results of sends in one transaction (group commit, like turns). Each is fenced: ignored (false) unless
    /// its row is still pending and still carries the attempt it was claimed with. One answer per completion, in order.
    /// </summary>
    Task<IReadOnlyList<bool>> CompleteOutboxAsync(IReadOnlyList<OutboxCompletion> completions, CancellationToken ct);

    /// <summary>Updates delivery status reported later by a provider (status callbacks), found by provider message id.</summary>
    Task<bool> UpdateDeliveryStatusAsync(string providerMessageId, string status, string? errorCode, DateTimeOffset now, CancellationToken ct);

    /// <summary>The outbox row a provider's message id belongs to (status callbacks that must reach the grain), or null.</summary>
    Task<OutboxRow?> FindOutboxByProviderMessageIdAsync(string providerMessageId, CancellationToken ct);

    /// <summary>Releases every timer and outbox lease that <paramref name="owner"/> holds (graceful drain).</summary>
    Task ReleaseLeasesAsync(string owner, CancellationToken ct);

    // ---- read side: dashboards query projected columns, never grain JSON in bulk ----

    Task<IReadOnlyList<GrainRow>> QueryGrainsAsync(GrainQuery query, CancellationToken ct);

    /// <summary>
    /// Grains of <paramref name="grainType"/> whose projected phone is <paramref name="phone"/>, in EVERY org, most
    /// recently updated first, at most <paramref name="limit"/>. Inbound SMS names only a phone number, so the gateway
    /// must find the client before it knows the org; the only query that crosses orgs.
    /// </summary>
    Task<IReadOnlyList<GrainRow>> FindGrainsByPhoneAsync(string grainType, string phone, int limit, CancellationToken ct);

    /// <summary>Aggregates of ClientLoop projections grouped by cohort (no counter rows: computed on read).</summary>
    Task<IReadOnlyList<CohortStats>> GetCohortStatsAsync(string orgId, IReadOnlyCollection<string>? cohortIds, DateTimeOffset now, CancellationToken ct);

    Task<IReadOnlyList<OutboxRow>> QueryOutboxAsync(OutboxQuery query, CancellationToken ct);

    Task<TimerBacklog> GetTimerBacklogAsync(DateTimeOffset now, CancellationToken ct);

    /// <summary>
    /// Pending outbox rows per channel (metrics, read at scrape time): all pending ones, those whose next attempt is
    /// due at <paramref name="now"/>, and how long the oldest due one has waited. Channels with nothing pending are absent.
    /// </summary>
    Task<IReadOnlyList<OutboxBacklog>> GetOutboxBacklogAsync(DateTimeOffset now, CancellationToken ct);

    /// <summary>
    /// Per-template figures over the touch facts: touches sent, answered, the median time to the first answer and the
    /// distribution of first ratings, grouped by template and (when asked) cohort and version. Ordered by cohort,
    /// template, version.
    /// </summary>
    Task<IReadOnlyList<TemplateStats>> GetTemplateStatsAsync(TemplateStatsQuery query, CancellationToken ct);

    // ---- API keys (stored hashed) ----

    Task CreateApiKeyAsync(ApiKeyRecord key, CancellationToken ct);
    Task<ApiKeyRecord?> FindApiKeyAsync(string keyHash, CancellationToken ct);

    /// <summary>An org's keys (hashes included; callers never show them), newest first, optionally only one role, subject or the active ones.</summary>
    Task<IReadOnlyList<ApiKeyRecord>> ListApiKeysAsync(ApiKeyQuery query, CancellationToken ct);

    /// <summary>Revokes one key of the org by <see cref="ApiKeyRecord.KeyId"/>. False when the org has no such key or it was already revoked.</summary>
    Task<bool> RevokeApiKeyAsync(string orgId, string keyId, DateTimeOffset now, CancellationToken ct);

    /// <summary>Revokes every unrevoked key of the org whose subject is <paramref name="subjectId"/> (e.g. all links of one client). Returns how many.</summary>
    Task<int> RevokeApiKeysOfSubjectAsync(string orgId, string subjectId, DateTimeOffset now, CancellationToken ct);

    // ---- audit log and erasure ----

    /// <summary>Appends audit entries (all or none) stamped <paramref name="now"/>, for changes that are not grain turns (keys, links, exports).</summary>
    Task AppendAuditAsync(IReadOnlyList<AuditWrite> entries, DateTimeOffset now, CancellationToken ct);

    /// <summary>One org's audit entries, newest first.</summary>
    Task<IReadOnlyList<AuditEntry>> QueryAuditAsync(AuditQuery query, CancellationToken ct);

    /// <summary>
    /// Removes, in one transaction, what a grain's personal data left outside its own state (a turn has already
    /// replaced the state by a tombstone): deletes every timer and pending message of the grain; deletes pending
    /// messages to other grains of the org whose payload names the grain's key (an alert still in flight would carry
    /// the name on); blanks recipient, subject, body and error of the grain's outbox rows and fails the pending ones
    /// (nothing is ever sent to a blank recipient); clears the detail of audit entries whose target is the grain;
    /// revokes the org's credentials whose subject is the grain (client links). The grain's own row is left alone.
    /// Idempotent. An engine that keeps old row images (WAL, free pages) must not keep the erased values there either.
    /// </summary>
    Task<ErasureResult> ErasePersonalDataAsync(GrainId id, DateTimeOffset now, CancellationToken ct);
}

public static class GrainStoreExtensions
{
    /// <summary>Runs one turn on its own (see <see cref="IGrainStore.RunTurnsAsync"/>); a faulted turn rethrows its exception.</summary>
    public static async Task<TurnOutcome> RunTurnAsync(this IGrainStore store, GrainId id, TurnTrigger trigger, DateTimeOffset now,
        Func<StoredGrain?, TurnDecision> decide, CancellationToken ct) =>
        TurnBatches.ThrowIfFaulted((await store.RunTurnsAsync([new TurnRequest(id, trigger, now, decide)], ct))[0]);

    /// <summary>Records the result of one send on its own (see <see cref="IGrainStore.CompleteOutboxAsync"/>).</summary>
    public static async Task<bool> CompleteOutboxAsync(this IGrainStore store, long outboxId, int attempt, OutboxResult result,
        DateTimeOffset now, CancellationToken ct) =>
        (await store.CompleteOutboxAsync([new OutboxCompletion(outboxId, attempt, result, now)], ct))[0];
}
