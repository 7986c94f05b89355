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
public sealed record Consent(bool SmsOptIn, bool SmsOptedOut = false, bool EmailUnsubscribed = false)
{
    private readonly ImmutableList<ConsentChange> _changes = [];

    /// <summary>When and how consent was given or withdrawn, oldest first (only real changes are kept).</summary>
    /// <remarks>Never null: the source-generated reader sets init properties even when a stored state predates them.</remarks>
    public ImmutableList<ConsentChange> Changes { get => _changes; init => _changes = value ?? []; }
}

/// <param name="Given">True when consent was given (opt-in, START), false when withdrawn (STOP, unsubscribe, 21610).</param>
/// <param name="How">In words: "smsConsent at enrolment (API)", "SMS keyword STOP", "Twilio 21610 …".</param>
/// <param name="Sender">For SMS, the sender it applies to when known.</param>
public sealed record ConsentChange(Channel Channel, bool Given, DateTimeOffset At, string How, string? Sender = null);

public sealed record ActionItem(string Id, string What, DateOnly? ByWhen, string? Notice, DateTimeOffset? CompletedAt = null);

/// <summary>The coach's five-line note. Holds only what the form asks for.</summary>
public sealed record SessionNote(string Focus, string Insight, string AgreedAction, string Obstacle, string FollowUp);

public sealed record SessionRecord(
    int Number,
    DateTimeOffset OccurredAt,
    DateTimeOffset NextSessionAt,
    ImmutableList<ActionItem> Items,
    SessionNote Note)
{
    /// <summary>Set when the coach logged it for the whole cohort at once (a group session with shared items).</summary>
    public string? GroupSessionId { get; init; }

    /// <summary>The id of the scheduler/CRM event that logged it, so a redelivered event logs nothing twice.</summary>
    public string? SourceEventId { get; init; }
}

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
    string? SkippedBecause = null)
{
    /// <summary>The touchpoint's template version when it was sent (null in schema v1: version 1).</summary>
    public int? TemplateVersion { get; init; }
}

public sealed record ReplyRecord(
    string Id,
    string? PromptId,
    int? Rating,
    string? Text,
    Channel Channel,
    DateTimeOffset At,
    ReplyRoute Route,
    /// <summary>The provider's id of the reply (Twilio MessageSid, one-tap link), so a redelivery is recorded once.</summary>
    string? ExternalId = null);

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
    /// <summary>2: norms, reflections, feedback, the early-end instant, per-session group/event ids, template versions.</summary>
    public const int CurrentSchemaVersion = 2;

    /// <summary>The coach's communication norms at enrolment (the welcome message carries them).</summary>
    public Coaches.CommunicationNorms? Norms { get; init; }

    // The JSON source generator assigns a member missing from older JSON null, not the initializer: map it back.
    public ImmutableList<Reflection> Reflections { get => _reflections; init => _reflections = value ?? []; }
    private readonly ImmutableList<Reflection> _reflections = [];

    /// <summary>The latest midpoint and closing answers (at most one of each kind).</summary>
    public ImmutableList<FeedbackRecord> Feedback { get => _feedback; init => _feedback = value ?? []; }
    private readonly ImmutableList<FeedbackRecord> _feedback = [];

    /// <summary>When the client left before the program's end: mid-program churn.</summary>
    public DateTimeOffset? EndedEarlyAt { get; init; }

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
