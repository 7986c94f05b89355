namespace CohortGrains.Runtime.Storage;

/// <summary>A grain's identity. The org id is part of every key so tenants never share rows (and can be partitioned).</summary>
public readonly record struct GrainId(string OrgId, string Type, string Key)
{
    public override string ToString() => $"{Type}/{OrgId}/{Key}";
}

public sealed record StoredGrain(GrainId Id, string StateJson, long Version, DateTimeOffset UpdatedAt);

/// <summary>
/// Columns projected from grain state on every turn so dashboards aggregate in SQL instead of reading JSON.
/// Only ClientLoop fills most of them; other grain types leave them at their defaults.
/// </summary>
public sealed record GrainProjection
{
    public string? DisplayName { get; init; }
    public string? CohortId { get; init; }
    public string? CoachId { get; init; }
    public string? Status { get; init; }
    public DateTimeOffset? StatusSince { get; init; }
    /// <summary>Words for the roster ("rated 2 on Thu: 'no time for calls'"), decided when the status changed.</summary>
    public string? StatusDetail { get; init; }
    /// <summary>Higher is riskier: the roster sorts by it.</summary>
    public int Risk { get; init; }
    public int? LastRating { get; init; }
    public DateTimeOffset? NextSessionAt { get; init; }
    /// <summary>Earliest due instant of an action item not completed yet: "late" is decided at query time.</summary>
    public DateTimeOffset? EarliestOpenActionDue { get; init; }
    public int PromptsSent { get; init; }
    public int Replies { get; init; }
    public int TouchesSent { get; init; }
    public int ActionsTotal { get; init; }
    public int ActionsDone { get; init; }
    public int Escalations { get; init; }
    public int EscalationsCaught { get; init; }
    /// <summary>Phone in E.164 for matching inbound SMS to a client (null when none).</summary>
    public string? Phone { get; init; }
    public string? Email { get; init; }
    /// <summary>The client left before the program's end: mid-program churn.</summary>
    public bool EndedEarly { get; init; }
    /// <summary>
    /// What the grain wants to hear about, space-separated (an org's Integrations grain: the event types its webhooks
    /// subscribe to). Messages sent <see cref="MessageWrite.OnlyIfTopic"/> are stored only when it lists theirs.
    /// </summary>
    public string? Topics { get; init; }
}

/// <summary>What started a turn.</summary>
public abstract record TurnTrigger
{
    /// <summary>A command from the gateway (HTTP).</summary>
    public sealed record Command : TurnTrigger;

    /// <summary>A timer (reminder or grain message) claimed by a worker with the attempt it was claimed at.</summary>
    public sealed record Timer(string Name, int Attempt) : TurnTrigger;

    public static readonly TurnTrigger FromCommand = new Command();
}

public sealed record TimerWrite(string Name, DateTimeOffset DueAt, string PayloadJson);

public sealed record OutboxWrite(
    string IdempotencyKey,
    string Channel,
    string Recipient,
    string? Subject,
    string Body,
    string Template,
    string? PromptId);

/// <summary>A message to another grain; stored as a timer on the target due immediately, so it survives crashes.</summary>
public sealed record MessageWrite(GrainId Target, string PayloadJson)
{
    /// <summary>
    /// When set, the message is stored only if the target grain exists and its projected <see cref="GrainProjection.Topics"/>
    /// list this topic when the sending turn writes it; otherwise it is dropped: nobody asked for it. So a busy org
    /// without webhooks costs its Integrations grain no turn per event.
    /// </summary>
    public string? OnlyIfTopic { get; init; }
}

/// <summary>
/// One answerable touch of a client and its first answer, upserted by (org, grain key, touch id) in the turn that sent
/// or answered it, so per-template reply rates are SQL aggregates, never grain JSON read in bulk.
/// </summary>
public sealed record TouchFactWrite(
    string TouchId,
    string? CohortId,
    string? CoachId,
    string Template,
    int TemplateVersion,
    string Kind,
    string Channel,
    DateTimeOffset SentAt,
    DateTimeOffset? RepliedAt,
    int? Rating);

public abstract record TurnDecision
{
    public sealed record Write(
        string StateJson,
        GrainProjection Projection,
        IReadOnlyList<TimerWrite> Timers,
        IReadOnlyList<string> CancelTimers,
        IReadOnlyList<OutboxWrite> Outbox,
        IReadOnlyList<MessageWrite> Messages) : TurnDecision
    {
        /// <summary>Reasons of the escalations this turn raised ("stuck", "silent"), for metrics only: stores ignore it.</summary>
        public IReadOnlyList<string> Escalations { get; init; } = [];

        /// <summary>Touch facts that are new or changed in this turn (only ClientLoop writes them).</summary>
        public IReadOnlyList<TouchFactWrite> TouchFacts { get; init; } = [];

        /// <summary>Audit entries written in the same transaction (stamped with the turn's now): a change and its record commit together.</summary>
        public IReadOnlyList<AuditWrite> Audit { get; init; } = [];
    }

    /// <summary>The grain refused the message (bad input for its current state); nothing is written.</summary>
    public sealed record Reject(string Code, string Detail) : TurnDecision;
}

public abstract record TurnOutcome
{
    public sealed record Committed(long Version) : TurnOutcome;
    public sealed record Rejected(string Code, string Detail) : TurnOutcome;
    /// <summary>The timer that triggered the turn was re-claimed, rescheduled or cancelled meanwhile; nothing was done.</summary>
    public sealed record Fenced : TurnOutcome;
    /// <summary>
    /// This turn failed (decide threw, or the database refused its writes) and nothing of it was written; the other
    /// turns of its batch are unaffected. A timer trigger stays leased and runs again after its lease.
    /// </summary>
    public sealed record Faulted(Exception Error) : TurnOutcome;
}

/// <summary>
/// One turn to run: a message for <paramref name="Id"/>, what triggered it, the instant it runs at (stamped on its
/// writes) and the pure function that decides it from the grain's current row.
/// </summary>
public sealed record TurnRequest(GrainId Id, TurnTrigger Trigger, DateTimeOffset Now, Func<StoredGrain?, TurnDecision> Decide);

public sealed record ClaimedTimer(GrainId Grain, string Name, DateTimeOffset DueAt, string PayloadJson, int Attempt);

public sealed record ClaimedOutbox(
    long Id,
    GrainId Grain,
    string IdempotencyKey,
    string Channel,
    string Recipient,
    string? Subject,
    string Body,
    string Template,
    int Attempt,
    DateTimeOffset CreatedAt)
{
    /// <summary>The prompt this touch asks about (null for nudges without a question): email renders one-tap answers for it.</summary>
    public string? PromptId { get; init; }
}

public abstract record OutboxResult
{
    /// <summary>The provider accepted the message.</summary>
    public sealed record Sent(string? ProviderMessageId, string ProviderStatus) : OutboxResult;
    /// <summary>Transient fault: try again at <paramref name="RetryAt"/>.</summary>
    public sealed record Retry(DateTimeOffset RetryAt, string Error) : OutboxResult;
    /// <summary>Permanent fault: give up and show the reason.</summary>
    public sealed record Failed(string Error, string? ErrorCode) : OutboxResult;
}

/// <summary>The result of one send, for the outbox row claimed with <paramref name="Attempt"/>.</summary>
public sealed record OutboxCompletion(long OutboxId, int Attempt, OutboxResult Result, DateTimeOffset Now);

public static class OutboxStatus
{
    public const string Pending = "pending";
    public const string Sent = "sent";
    public const string Failed = "failed";
}

public sealed record OutboxRow(
    long Id,
    GrainId Grain,
    string IdempotencyKey,
    string Channel,
    string Recipient,
    string? Subject,
    string Body,
    string Template,
    string? PromptId,
    string Status,
    int Attempt,
    string? ProviderMessageId,
    string? ProviderStatus,
    string? Error,
    DateTimeOffset CreatedAt,
    DateTimeOffset? SentAt,
    DateTimeOffset UpdatedAt)
{
    /// <summary>The provider's error code of a failed send or a later delivery callback (e.g. Twilio 21610).</summary>
    public string? ErrorCode { get; init; }
}

public sealed record OutboxQuery(string OrgId)
{
    public string? GrainKey { get; init; }
    public string? Status { get; init; }
    public string? Channel { get; init; }
    public int Limit { get; init; } = 100;
    /// <summary>Return rows with id below this (newest first paging).</summary>
    public long? BeforeId { get; init; }
    /// <summary>Only rows to this recipient (a webhook endpoint's delivery log).</summary>
    public string? Recipient { get; init; }
}

public sealed record GrainRow(GrainId Id, long Version, DateTimeOffset UpdatedAt, GrainProjection Projection);

public sealed record GrainQuery(string OrgId, string Type)
{
    public string? CohortId { get; init; }
    public string? CoachId { get; init; }
    public string? Status { get; init; }
    public string? Phone { get; init; }
    public IReadOnlyCollection<string>? Keys { get; init; }
    /// <summary>Sort riskiest first (risk desc, then status_since asc) instead of by key.</summary>
    public bool OrderByRisk { get; init; }
    public int Limit { get; init; } = 1000;
    public int Offset { get; init; }
}

public sealed record CohortStats(
    string CohortId,
    int Clients,
    IReadOnlyDictionary<string, int> ByStatus,
    int PromptsSent,
    int Replies,
    int TouchesSent,
    int ActionsTotal,
    int ActionsDone,
    int Escalations,
    int EscalationsCaught,
    int ClientsWithLateActions)
{
    /// <summary>Clients who left before the program's end.</summary>
    public int ClientsEndedEarly { get; init; }
}

/// <summary>What the per-template reply rates are computed over.</summary>
public sealed record TemplateStatsQuery(string OrgId)
{
    public string? CohortId { get; init; }
    /// <summary>Touches sent at or after this instant.</summary>
    public DateTimeOffset? Since { get; init; }
    /// <summary>Touches sent before this instant (leaves out prompts too fresh to have been answered).</summary>
    public DateTimeOffset? Until { get; init; }
    /// <summary>One row per cohort (else the org's cohorts together).</summary>
    public bool ByCohort { get; init; }
    /// <summary>One row per template version (else every version together).</summary>
    public bool ByVersion { get; init; }
}

/// <summary>Aggregates of the touch facts of one template (key), per cohort and/or version when asked.</summary>
/// <param name="Ratings">How many first ratings were 1, 2, 3, 4 and 5 (index 0 = rating 1).</param>
public sealed record TemplateStats(
    string? CohortId,
    string Template,
    int? TemplateVersion,
    string Kind,
    int Sent,
    int Replied,
    double? MedianReplySeconds,
    IReadOnlyList<int> Ratings,
    DateTimeOffset FirstSentAt,
    DateTimeOffset LastSentAt);

public sealed record TimerBacklog(long Due, TimeSpan OldestLag, long Total);

/// <summary>One channel's pending outbox rows: <paramref name="Due"/> of them could be sent now; the oldest due waited <paramref name="OldestDueLag"/>.</summary>
public sealed record OutboxBacklog(string Channel, long Pending, long Due, TimeSpan OldestDueLag);

public sealed record ApiKeyRecord(
    string KeyHash,
    string Prefix,
    string OrgId,
    string Role,
    string? SubjectId,
    string Label,
    DateTimeOffset CreatedAt,
    DateTimeOffset? RevokedAt)
{
    /// <summary>The public id used to list and revoke a key. Derived from the hash (64 of its 256 bits), so it says nothing about the key itself.</summary>
    public string KeyId => IdFor(KeyHash);

    /// <summary>After this instant the key no longer authenticates (client links always expire; API keys may).</summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    public bool IsActiveAt(DateTimeOffset now) => (RevokedAt is null || RevokedAt > now) && (ExpiresAt is null || ExpiresAt > now);

    public static string IdFor(string keyHash) => "key_" + keyHash[..Math.Min(16, keyHash.Length)];
}

public sealed record ApiKeyQuery(string OrgId)
{
    public string? Role { get; init; }
    public string? SubjectId { get; init; }
    /// <summary>Only keys that authenticate at this instant (not revoked, not expired).</summary>
    public DateTimeOffset? ActiveAt { get; init; }
    public int Limit { get; init; } = 100;
}

/// <summary>
/// One line of the audit log: who (role and id: a coach id, a client id, an API key id, "operator") did what to
/// which target. Ids and short codes only: never names, phone numbers, emails or note text, so erasing a client
/// leaves nothing personal behind here.
/// </summary>
public sealed record AuditWrite(string OrgId, string ActorRole, string ActorId, string Action, string TargetType, string TargetId, string? Detail = null);

public sealed record AuditEntry(
    long Id,
    string OrgId,
    DateTimeOffset At,
    string ActorRole,
    string ActorId,
    string Action,
    string TargetType,
    string TargetId,
    string? Detail);

public sealed record AuditQuery(string OrgId)
{
    public string? TargetId { get; init; }
    public string? Action { get; init; }
    public string? ActorId { get; init; }
    /// <summary>Return entries with id below this (newest first paging).</summary>
    public long? BeforeId { get; init; }
    public int Limit { get; init; } = 100;
}

/// <summary>What <see cref="IGrainStore.ErasePersonalDataAsync"/> removed or blanked.</summary>
public sealed record ErasureResult(int TimersDeleted, int MessagesDeleted, int OutboxRowsScrubbed, int AuditEntriesScrubbed, int KeysRevoked);
