using CohortGrains.Runtime.Storage;

namespace CohortGrains.Storage.Sqlite;

// Row shapes as SQLite hands them back (INTEGER is always long), mapped by Dapper with underscores ignored,
// and converted to the contract's records here so the store methods stay short.

internal static class Instant
{
    public static long ToMs(DateTimeOffset value) => value.ToUnixTimeMilliseconds();
    public static long? ToMs(DateTimeOffset? value) => value?.ToUnixTimeMilliseconds();
    public static DateTimeOffset FromMs(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);
    public static DateTimeOffset? FromMs(long? ms) => ms is { } v ? DateTimeOffset.FromUnixTimeMilliseconds(v) : null;
}

internal sealed class GrainRowData
{
    public string OrgId { get; set; } = "";
    public string GrainType { get; set; } = "";
    public string GrainKey { get; set; } = "";
    public long Version { get; set; }
    public long UpdatedAt { get; set; }
    public string State { get; set; } = "";
    public string? DisplayName { get; set; }
    public string? CohortId { get; set; }
    public string? CoachId { get; set; }
    public string? Status { get; set; }
    public long? StatusSince { get; set; }
    public string? StatusDetail { get; set; }
    public long Risk { get; set; }
    public long? LastRating { get; set; }
    public long? NextSessionAt { get; set; }
    public long? EarliestOpenActionDue { get; set; }
    public long PromptsSent { get; set; }
    public long Replies { get; set; }
    public long TouchesSent { get; set; }
    public long ActionsTotal { get; set; }
    public long ActionsDone { get; set; }
    public long Escalations { get; set; }
    public long EscalationsCaught { get; set; }
    public string? Phone { get; set; }
    public string? Email { get; set; }
    public long EndedEarly { get; set; }
    public string? Topics { get; set; }

    public GrainId Id => new(OrgId, GrainType, GrainKey);

    public StoredGrain ToStoredGrain() => new(Id, State, Version, Instant.FromMs(UpdatedAt));

    public GrainRow ToGrainRow() => new(Id, Version, Instant.FromMs(UpdatedAt), new GrainProjection
    {
        DisplayName = DisplayName,
        CohortId = CohortId,
        CoachId = CoachId,
        Status = Status,
        StatusSince = Instant.FromMs(StatusSince),
        StatusDetail = StatusDetail,
        Risk = (int)Risk,
        LastRating = (int?)LastRating,
        NextSessionAt = Instant.FromMs(NextSessionAt),
        EarliestOpenActionDue = Instant.FromMs(EarliestOpenActionDue),
        PromptsSent = (int)PromptsSent,
        Replies = (int)Replies,
        TouchesSent = (int)TouchesSent,
        ActionsTotal = (int)ActionsTotal,
        ActionsDone = (int)ActionsDone,
        Escalations = (int)Escalations,
        EscalationsCaught = (int)EscalationsCaught,
        Phone = Phone,
        Email = Email,
        EndedEarly = EndedEarly != 0,
        Topics = Topics,
    });

    /// <summary>Parameters for InsertGrain / UpdateGrain.</summary>
    public static object WriteParams(GrainId id, long expectedVersion, long version, DateTimeOffset now,
        string state, GrainProjection p) => new
    {
        id.OrgId,
        GrainType = id.Type,
        GrainKey = id.Key,
        ExpectedVersion = expectedVersion,
        Version = version,
        UpdatedAt = Instant.ToMs(now),
        State = state,
        p.DisplayName,
        p.CohortId,
        p.CoachId,
        p.Status,
        StatusSince = Instant.ToMs(p.StatusSince),
        p.StatusDetail,
        p.Risk,
        p.LastRating,
        NextSessionAt = Instant.ToMs(p.NextSessionAt),
        EarliestOpenActionDue = Instant.ToMs(p.EarliestOpenActionDue),
        p.PromptsSent,
        p.Replies,
        p.TouchesSent,
        p.ActionsTotal,
        p.ActionsDone,
        p.Escalations,
        p.EscalationsCaught,
        p.Phone,
        p.Email,
        EndedEarly = p.EndedEarly ? 1 : 0,
        p.Topics,
    };
}

internal sealed class TimerRowData
{
    public string OrgId { get; set; } = "";
    public string GrainType { get; set; } = "";
    public string GrainKey { get; set; } = "";
    public string Name { get; set; } = "";
    public long DueAt { get; set; }
    public string Payload { get; set; } = "";
    public long Attempt { get; set; }

    public ClaimedTimer ToClaimed() =>
        new(new GrainId(OrgId, GrainType, GrainKey), Name, Instant.FromMs(DueAt), Payload, (int)Attempt);
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
    public long Attempt { get; set; }
    public string? ProviderMessageId { get; set; }
    public string? ProviderStatus { get; set; }
    public string? Error { get; set; }
    public string? ErrorCode { get; set; }
    public long CreatedAt { get; set; }
    public long? SentAt { get; set; }
    public long UpdatedAt { get; set; }

    private GrainId Grain => new(OrgId, GrainType, GrainKey);

    public ClaimedOutbox ToClaimed() => new(Id, Grain, IdempotencyKey, Channel, Recipient, Subject, Body, Template,
        (int)Attempt, Instant.FromMs(CreatedAt))
    {
        PromptId = PromptId,
    };

    public OutboxRow ToRow() => new(Id, Grain, IdempotencyKey, Channel, Recipient, Subject, Body, Template, PromptId,
        Status, (int)Attempt, ProviderMessageId, ProviderStatus, Error, Instant.FromMs(CreatedAt),
        Instant.FromMs(SentAt), Instant.FromMs(UpdatedAt))
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
    public long? TemplateVersion { get; set; }
    public string Kind { get; set; } = "";
    public long Sent { get; set; }
    public long Replied { get; set; }
    public double? MedianReplySeconds { get; set; }
    public long Rating1 { get; set; }
    public long Rating2 { get; set; }
    public long Rating3 { get; set; }
    public long Rating4 { get; set; }
    public long Rating5 { get; set; }
    public long FirstSentAt { get; set; }
    public long LastSentAt { get; set; }

    public TemplateStats ToStats() => new(CohortId, Template, (int?)TemplateVersion, Kind, (int)Sent, (int)Replied, MedianReplySeconds,
        [(int)Rating1, (int)Rating2, (int)Rating3, (int)Rating4, (int)Rating5], Instant.FromMs(FirstSentAt), Instant.FromMs(LastSentAt));
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
    public long? OldestDueAt { get; set; }
    public long Total { get; set; }
}

internal sealed class OutboxBacklogData
{
    public string Channel { get; set; } = "";
    public long Pending { get; set; }
    public long Due { get; set; }
    public long? OldestDueAt { get; set; }
}

internal sealed class ApiKeyData
{
    public string KeyHash { get; set; } = "";
    public string Prefix { get; set; } = "";
    public string OrgId { get; set; } = "";
    public string Role { get; set; } = "";
    public string? SubjectId { get; set; }
    public string Label { get; set; } = "";
    public long CreatedAt { get; set; }
    public long? RevokedAt { get; set; }
    public long? ExpiresAt { get; set; }

    public ApiKeyRecord ToRecord() => new(KeyHash, Prefix, OrgId, Role, SubjectId, Label,
        Instant.FromMs(CreatedAt), Instant.FromMs(RevokedAt))
    {
        ExpiresAt = Instant.FromMs(ExpiresAt),
    };
}

internal sealed class AuditData
{
    public long Id { get; set; }
    public string OrgId { get; set; } = "";
    public long At { get; set; }
    public string ActorRole { get; set; } = "";
    public string ActorId { get; set; } = "";
    public string Action { get; set; } = "";
    public string TargetType { get; set; } = "";
    public string TargetId { get; set; } = "";
    public string? Detail { get; set; }

    public AuditEntry ToEntry() => new(Id, OrgId, Instant.FromMs(At), ActorRole, ActorId, Action, TargetType, TargetId, Detail);
}
