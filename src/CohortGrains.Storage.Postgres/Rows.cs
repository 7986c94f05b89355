using CohortGrains.Runtime.Storage;

namespace CohortGrains.Storage.Postgres;

// Row shapes for the read side as Npgsql hands them back (timestamptz arrives as a UTC DateTime), mapped by Dapper with
// underscores ignored and converted to the contract's records here. The turn and claim paths read their few columns
// by hand instead (see PostgresGrainStore).

internal static class Instant
{
    /// <summary>timestamptz accepts only UTC DateTimeOffsets; a value with an offset is the same instant in UTC.</summary>
    public static DateTimeOffset Utc(DateTimeOffset value) => value.ToUniversalTime();
    public static DateTimeOffset? Utc(DateTimeOffset? value) => value?.ToUniversalTime();
    public static DateTimeOffset From(DateTime utc) => new(DateTime.SpecifyKind(utc, DateTimeKind.Utc));
    public static DateTimeOffset? From(DateTime? utc) => utc is { } v ? From(v) : null;
}

internal sealed class GrainRowData
{
    public string OrgId { get; set; } = "";
    public string GrainType { get; set; } = "";
    public string GrainKey { get; set; } = "";
    public long Version { get; set; }
    public DateTime UpdatedAt { get; set; }
    public string? DisplayName { get; set; }
    public string? CohortId { get; set; }
    public string? CoachId { get; set; }
    public string? Status { get; set; }
    public DateTime? StatusSince { get; set; }
    public string? StatusDetail { get; set; }
    public int Risk { get; set; }
    public int? LastRating { get; set; }
    public DateTime? NextSessionAt { get; set; }
    public DateTime? EarliestOpenActionDue { get; set; }
    public int PromptsSent { get; set; }
    public int Replies { get; set; }
    public int TouchesSent { get; set; }
    public int ActionsTotal { get; set; }
    public int ActionsDone { get; set; }
    public int Escalations { get; set; }
    public int EscalationsCaught { get; set; }
    public string? Phone { get; set; }
    public string? Email { get; set; }
    public bool EndedEarly { get; set; }
    public string? Topics { get; set; }

    public GrainRow ToGrainRow() => new(new GrainId(OrgId, GrainType, GrainKey), Version, Instant.From(UpdatedAt), new GrainProjection
    {
        DisplayName = DisplayName,
        CohortId = CohortId,
        CoachId = CoachId,
        Status = Status,
        StatusSince = Instant.From(StatusSince),
        StatusDetail = StatusDetail,
        Risk = Risk,
        LastRating = LastRating,
        NextSessionAt = Instant.From(NextSessionAt),
        EarliestOpenActionDue = Instant.From(EarliestOpenActionDue),
        PromptsSent = PromptsSent,
        Replies = Replies,
        TouchesSent = TouchesSent,
        ActionsTotal = ActionsTotal,
        ActionsDone = ActionsDone,
        Escalations = Escalations,
        EscalationsCaught = EscalationsCaught,
        Phone = Phone,
        Email = Email,
        EndedEarly = EndedEarly,
        Topics = Topics,
    });
}

internal sealed class OutboxRowData
{
    public long Id { get; set; }
    public string OrgId { get; set; } = "";
    public string GrainType { get; set; } = "";
    public string GrainKey { get; set; } = "";
    public string IdempotencyKey { get; set; } = "";
    public string Channel { get; set; } = "";
    public string Recipient { get; set; } = "";
    public string? Subject { get; set; }
    public string Body { get; set; } = "";
    public string Template { get; set; } = "";
    public string? PromptId { get; set; }
    public string Status { get; set; } = "";
    public int Attempt { get; set; }
    public string? ProviderMessageId { get; set; }
    public string? ProviderStatus { get; set; }
    public string? Error { get; set; }
    public string? ErrorCode { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime? SentAt { get; set; }
    public DateTime UpdatedAt { get; set; }

    private GrainId Grain => new(OrgId, GrainType, GrainKey);

    public ClaimedOutbox ToClaimed() => new(Id, Grain, IdempotencyKey, Channel, Recipient, Subject, Body, Template,
        Attempt, Instant.From(CreatedAt))
    {
        PromptId = PromptId,
    };

    public OutboxRow ToRow() => new(Id, Grain, IdempotencyKey, Channel, Recipient, Subject, Body, Template, PromptId,
        Status, Attempt, ProviderMessageId, ProviderStatus, Error, Instant.From(CreatedAt),
        Instant.From(SentAt), Instant.From(UpdatedAt))
    {
        ErrorCode = ErrorCode,
    };
}

internal sealed class CohortStatsData
{
    public string CohortId { get; set; } = "";
    public long Clients { get; set; }
    public long PromptsSent { get; set; }
    public long Replies { get; set; }
    public long TouchesSent { get; set; }
    public long ActionsTotal { get; set; }
    public long ActionsDone { get; set; }
    public long Escalations { get; set; }
    public long EscalationsCaught { get; set; }
    public long ClientsWithLateActions { get; set; }
    public long ClientsEndedEarly { get; set; }
}

internal sealed class TemplateStatsData
{
    public string? CohortId { get; set; }
    public string Template { get; set; } = "";
    public int? TemplateVersion { get; set; }
    public string Kind { get; set; } = "";
    public long Sent { get; set; }
    public long Replied { get; set; }
    public double? MedianReplySeconds { get; set; }
    public long Rating1 { get; set; }
    public long Rating2 { get; set; }
    public long Rating3 { get; set; }
    public long Rating4 { get; set; }
    public long Rating5 { get; set; }
    public DateTime FirstSentAt { get; set; }
    public DateTime LastSentAt { get; set; }

    public TemplateStats ToStats() => new(CohortId, Template, TemplateVersion, Kind, (int)Sent, (int)Replied, MedianReplySeconds,
        [(int)Rating1, (int)Rating2, (int)Rating3, (int)Rating4, (int)Rating5], Instant.From(FirstSentAt), Instant.From(LastSentAt));
}

internal sealed class CohortStatusCountData
{
    public string CohortId { get; set; } = "";
    public string Status { get; set; } = "";
    public long Clients { get; set; }
}

internal sealed class TimerBacklogData
{
    public long Due { get; set; }
    public DateTime? OldestDueAt { get; set; }
    public long Total { get; set; }
}

internal sealed class OutboxBacklogData
{
    public string Channel { get; set; } = "";
    public long Pending { get; set; }
    public long Due { get; set; }
    public DateTime? OldestDueAt { get; set; }
}

internal sealed class ApiKeyData
{
    public string KeyHash { get; set; } = "";
    public string Prefix { get; set; } = "";
    public string OrgId { get; set; } = "";
    public string Role { get; set; } = "";
    public string? SubjectId { get; set; }
    public string Label { get; set; } = "";
    public DateTime CreatedAt { get; set; }
    public DateTime? RevokedAt { get; set; }
    public DateTime? ExpiresAt { get; set; }

    public ApiKeyRecord ToRecord() => new(KeyHash, Prefix, OrgId, Role, SubjectId, Label,
        Instant.From(CreatedAt), Instant.From(RevokedAt))
    {
        ExpiresAt = Instant.From(ExpiresAt),
    };
}

internal sealed class AuditData
{
    public long Id { get; set; }
    public string OrgId { get; set; } = "";
    public DateTime At { get; set; }
    public string ActorRole { get; set; } = "";
    public string ActorId { get; set; } = "";
    public string Action { get; set; } = "";
    public string TargetType { get; set; } = "";
    public string TargetId { get; set; } = "";
    public string? Detail { get; set; }

    public AuditEntry ToEntry() => new(Id, OrgId, Instant.From(At), ActorRole, ActorId, Action, TargetType, TargetId, Detail);
}

internal sealed class NodeData
{
    public string NodeId { get; set; } = "";
    public string Address { get; set; } = "";
    public DateTime StartedAt { get; set; }
    public DateTime HeartbeatAt { get; set; }
    public double TurnsPerSecond { get; set; }
    public int LeasesHeld { get; set; }
    public bool Draining { get; set; }

    public NodeRecord ToRecord() => new(NodeId, Address, Instant.From(StartedAt), Instant.From(HeartbeatAt),
        TurnsPerSecond, LeasesHeld, Draining);
}
