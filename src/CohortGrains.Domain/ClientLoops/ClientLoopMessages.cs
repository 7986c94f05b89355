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
[JsonDerivedType(typeof(EraseClient), "eraseClient")]
public abstract record ClientLoopMessage;

public sealed record Enroll(
    string ClientId,
    string CohortId,
    string CoachId,
    string CoachName,
    ClientProfile Profile,
    Consent Consent,
    ProgramDefinition Program) : ClientLoopMessage;

public sealed record NewActionItem(string What, DateOnly? ByWhen, string? Notice);

/// <summary>The coach logged a session: 1–3 action items and the five-line note. Restarts the cadence.</summary>
/// <param name="Program">The cohort's program as it is now (cadence edits apply from the next session on).</param>
public sealed record SessionCompleted(
    DateTimeOffset OccurredAt,
    DateTimeOffset NextSessionAt,
    ImmutableList<NewActionItem> Items,
    SessionNote Note,
    ProgramDefinition Program) : ClientLoopMessage;

public sealed record ReminderDue(string Name) : ClientLoopMessage;

/// <param name="PromptId">Given by one-tap links; a bare SMS reply has none and goes to the open prompt.</param>
public sealed record CheckInReplied(int? Rating, string? Text, string? PromptId, Channel Channel) : ClientLoopMessage;

public sealed record ActionItemCompleted(string ItemId) : ClientLoopMessage;

public sealed record Paused(string? Reason) : ClientLoopMessage;

public sealed record Resumed : ClientLoopMessage;

public sealed record ChannelOptedOut(Channel Channel) : ClientLoopMessage;

public sealed record ChannelOptedIn(Channel Channel) : ClientLoopMessage;

public sealed record ProgramEnded(string Reason) : ClientLoopMessage;

/// <summary>From the coach's grain: the slot it reserved for this escalation (null when the coach has none free).</summary>
public sealed record SlotOffered(string EscalationId, DateTimeOffset? SlotStart) : ClientLoopMessage;

public sealed record EscalationHandled(string EscalationId, DateTimeOffset HandledAt) : ClientLoopMessage;

/// <summary>Erase the client's personal data: the state becomes a tombstone and the loop stops for good.</summary>
public sealed record EraseClient : ClientLoopMessage;
