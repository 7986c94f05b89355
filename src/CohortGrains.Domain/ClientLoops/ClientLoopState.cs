using System.Collections.Immutable;
using System.Text.Json.Serialization;
using CohortGrains.Domain.Common;
using CohortGrains.Domain.Programs;

namespace CohortGrains.Domain.ClientLoops;

[JsonConverter(typeof(JsonStringEnumConverter<ClientStatus>))]
public enum ClientStatus { OnTrack, Stuck, Silent, Done, Paused }

[JsonConverter(typeof(JsonStringEnumConverter<EscalationReason>))]
public enum EscalationReason { Stuck, Silent }

[JsonConverter(typeof(JsonStringEnumConverter<ReplyRoute>))]
public enum ReplyRoute { OnTrack, Stuck, Noted }

public sealed record ClientProfile(
    string Name,
    string? Phone,
    string? Email,
    string TimeZone,
    int PreferredHour,
    QuietHours? QuietHours = null);

/// <summary>
/// What the client agreed to be contacted by. SMS needs a recorded opt-in (TCPA) and honours STOP;
/// email honours unsubscribe. In-app (the portal) is always available.
/// </summary>
public sealed record Consent(bool SmsOptIn, bool SmsOptedOut = false, bool EmailUnsubscribed = false);

public sealed record ActionItem(string Id, string What, DateOnly? ByWhen, string? Notice, DateTimeOffset? CompletedAt = null);

/// <summary>The coach's five-line note. Holds only what the form asks for.</summary>
public sealed record SessionNote(string Focus, string Insight, string AgreedAction, string Obstacle, string FollowUp);

public sealed record SessionRecord(
    int Number,
    DateTimeOffset OccurredAt,
    DateTimeOffset NextSessionAt,
    ImmutableList<ActionItem> Items,
    SessionNote Note);

public sealed record TouchRecord(
    string Id,
    int Session,
    string TouchpointKey,
    Channel Channel,
    DateTimeOffset At,
    string Body,
    bool IsPrompt,
    bool CountsTowardCap,
    /// <summary>Null when sent; otherwise why it was not ("weekly cap", "no reachable channel").</summary>
    string? SkippedBecause = null);

public sealed record ReplyRecord(
    string Id,
    string? PromptId,
    int? Rating,
    string? Text,
    Channel Channel,
    DateTimeOffset At,
    ReplyRoute Route);

public sealed record Escalation(
    string Id,
    int Session,
    EscalationReason Reason,
    string Detail,
    DateTimeOffset At,
    DateTimeOffset NextSessionAt,
    DateTimeOffset? SlotOffered = null,
    DateTimeOffset? HandledAt = null)
{
    /// <summary>Caught = the coach handled it before the session it was raised ahead of.</summary>
    [JsonIgnore]
    public bool Caught => HandledAt is { } h && h <= NextSessionAt;
}

public sealed record ClientLoopState(
    int SchemaVersion,
    string ClientId,
    string CohortId,
    string CoachId,
    string CoachName,
    ClientProfile Profile,
    Consent Consent,
    ProgramDefinition Program,
    ClientStatus Status,
    DateTimeOffset StatusSince,
    string? StatusDetail,
    DateTimeOffset EnrolledAt,
    ImmutableList<SessionRecord> Sessions,
    ImmutableList<TouchRecord> Touches,
    ImmutableList<ReplyRecord> Replies,
    ImmutableList<Escalation> Escalations,
    /// <summary>The one prompt a bare reply (an SMS "4") is attributed to.</summary>
    string? OpenPromptId,
    /// <summary>Names of reminders currently scheduled, so a new session, a pause or the end cancels them all.</summary>
    ImmutableList<string> Reminders,
    /// <summary>Status to return to on resume.</summary>
    ClientStatus? StatusBeforePause = null,
    /// <summary>Set when the client's personal data was erased: the state is a tombstone (see <see cref="ClientErasure"/>).</summary>
    DateTimeOffset? ErasedAt = null)
{
    public const int CurrentSchemaVersion = 1;

    // Derived values are not stored: the state JSON holds facts only.
    [JsonIgnore]
    public SessionRecord? CurrentSession => Sessions.IsEmpty ? null : Sessions[^1];

    [JsonIgnore]
    public QuietHours QuietHours => Profile.QuietHours ?? Program.QuietHours;

    [JsonIgnore]
    public IEnumerable<ActionItem> AllActions => Sessions.SelectMany(s => s.Items);

    [JsonIgnore]
    public int? LastRating => Replies.LastOrDefault(r => r.Rating is not null)?.Rating;
}

public static class ClientStatusNames
{
    /// <summary>The words the API and the dashboards use: on-track, stuck, silent, done, paused.</summary>
    public static string ToWire(this ClientStatus status) => status switch
    {
        ClientStatus.OnTrack => "on-track",
        ClientStatus.Stuck => "stuck",
        ClientStatus.Silent => "silent",
        ClientStatus.Done => "done",
        ClientStatus.Paused => "paused",
        _ => throw new ArgumentOutOfRangeException(nameof(status)),
    };

    public static readonly string[] All = ["on-track", "stuck", "silent", "done", "paused"];
}
