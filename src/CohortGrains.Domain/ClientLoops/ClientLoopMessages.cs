using System.Collections.Immutable;
using System.Text.Json.Serialization;
using CohortGrains.Domain.Common;
using CohortGrains.Domain.Programs;

namespace CohortGrains.Domain.ClientLoops;

/// <summary>Everything a client's check-in loop can be told.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "$type")]
[JsonDerivedType(typeof(Enroll), "enroll")]
[JsonDerivedType(typeof(SessionCompleted), "sessionCompleted")]
[JsonDerivedType(typeof(ReminderDue), "reminderDue")]
[JsonDerivedType(typeof(CheckInReplied), "checkInReplied")]
[JsonDerivedType(typeof(ActionItemCompleted), "actionItemCompleted")]
[JsonDerivedType(typeof(Paused), "paused")]
[JsonDerivedType(typeof(Resumed), "resumed")]
[JsonDerivedType(typeof(ChannelOptedOut), "channelOptedOut")]
[JsonDerivedType(typeof(ChannelOptedIn), "channelOptedIn")]
[JsonDerivedType(typeof(ProgramEnded), "programEnded")]
[JsonDerivedType(typeof(SlotOffered), "slotOffered")]
[JsonDerivedType(typeof(EscalationHandled), "escalationHandled")]
[JsonDerivedType(typeof(SmsSenderBlocked), "smsSenderBlocked")]
[JsonDerivedType(typeof(ReflectionSubmitted), "reflectionSubmitted")]
[JsonDerivedType(typeof(FeedbackSubmitted), "feedbackSubmitted")]
[JsonDerivedType(typeof(EraseClient), "eraseClient")]
[JsonDerivedType(typeof(CoachMessageSent), "coachMessageSent")]
[JsonDerivedType(typeof(ContactPreferencesChanged), "contactPreferencesChanged")]
public abstract record ClientLoopMessage;

public sealed record Enroll(
    string ClientId,
    string CohortId,
    string CoachId,
    string CoachName,
    ClientProfile Profile,
    Consent Consent,
    ProgramDefinition Program) : ClientLoopMessage
{
    /// <summary>The coach's communication norms; when set, the program opens with a welcome message carrying them.</summary>
    public Coaches.CommunicationNorms? Norms { get; init; }
}

public sealed record NewActionItem(string What, DateOnly? ByWhen, string? Notice);

/// <summary>The coach logged a session: 1–3 action items and the five-line note. Restarts the cadence.</summary>
/// <param name="Program">The cohort's program as it is now (cadence edits apply from the next session on).</param>
public sealed record SessionCompleted(
    DateTimeOffset OccurredAt,
    DateTimeOffset NextSessionAt,
    ImmutableList<NewActionItem> Items,
    SessionNote Note,
    ProgramDefinition Program) : ClientLoopMessage
{
    public string? GroupSessionId { get; init; }

    /// <summary>An inbound event's id: the same event delivered twice logs one session.</summary>
    public string? SourceEventId { get; init; }
}

public sealed record ReminderDue(string Name) : ClientLoopMessage;

/// <param name="PromptId">Given by one-tap links; a bare SMS reply has none and goes to the open prompt.</param>
/// <param name="ExternalId">The provider's id of the reply (Twilio MessageSid, a one-tap link): a redelivered reply is recorded once.</param>
public sealed record CheckInReplied(int? Rating, string? Text, string? PromptId, Channel Channel, string? ExternalId = null) : ClientLoopMessage;

public sealed record ActionItemCompleted(string ItemId) : ClientLoopMessage;

public sealed record Paused(string? Reason) : ClientLoopMessage;

public sealed record Resumed : ClientLoopMessage;

/// <param name="How">How the client withdrew ("SMS keyword STOP", "email unsubscribe link"), kept in the consent history.</param>
/// <param name="Sender">For SMS: the sender (our number or messaging service) the client opted out of.</param>
public sealed record ChannelOptedOut(Channel Channel, string? How = null, string? Sender = null) : ClientLoopMessage;

public sealed record ChannelOptedIn(Channel Channel, string? How = null, string? Sender = null) : ClientLoopMessage;

/// <summary>
/// The SMS provider refused a touch because the number unsubscribed from our sender (Twilio 21610): the client
/// is opted out of SMS and the touch goes again by email (or the portal). Delivered at least once.
/// </summary>
public sealed record SmsSenderBlocked(string TouchId, string? Sender, string ErrorCode, string Reason) : ClientLoopMessage;

public sealed record ProgramEnded(string Reason) : ClientLoopMessage
{
    /// <summary>The client left before the program's end (counted as mid-program churn), rather than completing it.</summary>
    public bool Early { get; init; }
}

/// <summary>From the coach's grain: the slot it reserved for this escalation (null when the coach has none free).</summary>
public sealed record SlotOffered(string EscalationId, DateTimeOffset? SlotStart) : ClientLoopMessage;

public sealed record EscalationHandled(string EscalationId, DateTimeOffset HandledAt) : ClientLoopMessage;

/// <summary>A reflection on a session: the given one, the session of the touch it answers, or else the current one.</summary>
public sealed record ReflectionSubmitted(string Text, int? Session, string? ReplyToTouchId, Channel Channel) : ClientLoopMessage;

/// <summary>Answers to the midpoint check or the closing reflection; a later submission of the same kind replaces the earlier.</summary>
public sealed record FeedbackSubmitted(FeedbackKind Kind, ImmutableList<ArcAnswer> Answers, Channel Channel) : ClientLoopMessage;

/// <summary>Erase the client's personal data: the state becomes a tombstone and the loop stops for good.</summary>
public sealed record EraseClient : ClientLoopMessage;

/// <summary>
/// The coach writes to the client in their own words (answering an escalation): one touch through the outbox, by the
/// channel asked for when the client can be reached on it. Not a nudge: it does not count toward the weekly cap; SMS
/// and email still wait out the client's quiet hours in the outbox.
/// </summary>
/// <param name="MessageId">Chosen by the sender (a form's request id): the same id sends one message however often it arrives.</param>
/// <param name="Channel">The channel asked for (null: SMS, falling back to email, then the portal).</param>
public sealed record CoachMessageSent(string MessageId, string Text, Channel? Channel) : ClientLoopMessage;

/// <summary>The client changed when we may contact them (portal settings): quiet hours and/or the preferred hour.</summary>
public sealed record ContactPreferencesChanged(QuietHours? QuietHours, int? PreferredHour) : ClientLoopMessage;
