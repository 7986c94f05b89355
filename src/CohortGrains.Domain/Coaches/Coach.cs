using System.Collections.Immutable;
using System.Text.Json.Serialization;
using CohortGrains.Domain.ClientLoops;
using CohortGrains.Domain.Common;
using CohortGrains.Domain.Programs;

namespace CohortGrains.Domain.Coaches;

/// <summary>A weekly window the coach offers for short calls, in the coach's zone.</summary>
public sealed record AvailabilityWindow(DayOfWeek Day, TimeOnly Start, TimeOnly End);

/// <param name="Hour">Local hour (coach's zone) the digest goes out on the day of the first session, or the day before when that hour is already past the session.</param>
public sealed record DigestSettings(int Hour, bool Enabled);

public sealed record CoachCohort(string CohortId, string Name, SessionSchedule Schedule);

public sealed record CoachAlert(
    string Id,
    string ClientId,
    string ClientName,
    string CohortId,
    string EscalationId,
    EscalationReason Reason,
    string Detail,
    DateTimeOffset RaisedAt,
    DateTimeOffset NextSessionAt,
    DateTimeOffset? OfferedSlot,
    DateTimeOffset? HandledAt = null,
    string? HandledNote = null);

public sealed record CoachState(
    int SchemaVersion,
    string CoachId,
    string Name,
    string? Email,
    string TimeZone,
    ImmutableList<AvailabilityWindow> Availability,
    ImmutableList<CoachAlert> Alerts,
    /// <summary>Starts of 15-minute slots already offered to clients (kept so two clients are never offered the same slot).</summary>
    ImmutableList<DateTimeOffset> ReservedSlots)
{
    /// <summary>2: communication norms, the digest, the cohorts' session schedules.</summary>
    public const int CurrentSchemaVersion = 2;

    public CommunicationNorms? Norms { get; init; }

    /// <summary>The pre-session digest (off until the coach chooses an hour).</summary>
    public DigestSettings? Digest { get; init; }

    /// <summary>The active cohorts this coach runs, with their schedules: the digest goes out before their session days.</summary>
    // The JSON source generator assigns a member missing from v1 JSON null, not the initializer: map it back.
    public ImmutableList<CoachCohort> Cohorts { get => _cohorts; init => _cohorts = value ?? []; }
    private readonly ImmutableList<CoachCohort> _cohorts = [];

    /// <summary>
    /// Alerts raised so far, which numbers the next one. Handled alerts leave <see cref="Alerts"/> after a while, so its
    /// count cannot; a state from before this counter (0) has never dropped one, and its count is the number so far.
    /// </summary>
    public int AlertsRaised { get; init; }

    /// <summary>When the next digest is due and which session day (coach's local date) it is for; null when none is planned.</summary>
    public DateTimeOffset? NextDigestAt { get; init; }
    public DateOnly? NextDigestFor { get; init; }
    [JsonIgnore]
    public int OpenAlerts => Alerts.Count(a => a.HandledAt is null);
}

[JsonPolymorphic(TypeDiscriminatorPropertyName = "$type")]
[JsonDerivedType(typeof(CreateCoach), "createCoach")]
[JsonDerivedType(typeof(SetAvailability), "setAvailability")]
[JsonDerivedType(typeof(ClientEscalated), "clientEscalated")]
[JsonDerivedType(typeof(HandleAlert), "handleAlert")]
[JsonDerivedType(typeof(CoachReminderDue), "reminderDue")]
[JsonDerivedType(typeof(SetNorms), "setNorms")]
[JsonDerivedType(typeof(SetDigest), "setDigest")]
[JsonDerivedType(typeof(CohortScheduled), "cohortScheduled")]
[JsonDerivedType(typeof(DigestComposed), "digestComposed")]
[JsonDerivedType(typeof(ClientErased), "clientErased")]
public abstract record CoachMessage;

public sealed record CreateCoach(string CoachId, string Name, string? Email, string TimeZone, ImmutableList<AvailabilityWindow> Availability) : CoachMessage;

public sealed record SetAvailability(ImmutableList<AvailabilityWindow> Availability) : CoachMessage;

/// <summary>From a client's loop: the client is stuck or silent.</summary>
public sealed record ClientEscalated(
    string EscalationId,
    string ClientId,
    string ClientName,
    string CohortId,
    EscalationReason Reason,
    string Detail,
    DateTimeOffset RaisedAt,
    DateTimeOffset NextSessionAt) : CoachMessage;

public sealed record HandleAlert(string AlertId, string? Note) : CoachMessage;

/// <summary>A client's personal data was erased: their alerts keep ids and times, lose name, detail and the coach's note.</summary>
public sealed record ClientErased(string ClientId) : CoachMessage;

/// <summary>The coach's one reminder, "digest".</summary>
public sealed record CoachReminderDue(string Name) : CoachMessage;

/// <summary>Sets (or clears, with null) the coach's communication norms.</summary>
public sealed record SetNorms(CommunicationNorms? Norms) : CoachMessage;

/// <param name="Cohorts">The coach's active cohorts as the gateway read them, so cohorts from before the digest existed are known too (null keeps the list).</param>
public sealed record SetDigest(DigestSettings Settings, ImmutableList<CoachCohort>? Cohorts) : CoachMessage;

/// <summary>From a cohort: it is active with this schedule, or it is no longer active.</summary>
public sealed record CohortScheduled(string CohortId, string Name, SessionSchedule Schedule, bool Active) : CoachMessage;

/// <summary>The gateway composed the digest for a session day from the projections; the coach's grain sends it by email.</summary>
public sealed record DigestComposed(DateOnly SessionDate, string Subject, string Body) : CoachMessage;

public static class CoachDecider
{
    public const string GrainType = "Coach";
    /// <summary>
    /// How long a handled alert stays in the coach's list (the alerts API and inbox) before a new alert drops it. Open
    /// alerts stay until handled. A redelivered escalation is recognised by the alert it raised, so this is far longer
    /// than any redelivery can take.
    /// </summary>
    public static readonly TimeSpan HandledAlertsKeptFor = TimeSpan.FromDays(90);
    public static readonly TimeSpan SlotLength = TimeSpan.FromMinutes(15);
    /// <summary>Offer slots no sooner than this, so the client has time to see the offer.</summary>
    public static readonly TimeSpan SlotLeadTime = TimeSpan.FromHours(2);
    public const int SlotSearchDays = 14;

    public static Decision<CoachState> Decide(CoachState? state, CoachMessage message, DateTimeOffset now)
    {
        if (state is null)
        {
            if (message is not CreateCoach c) return Decision<CoachState>.Reject(Rejection.NotFound, "coach not found");
            // Slots are found in this zone on every escalation: reject a bad one now, not on each alert.
            if (!Zones.TryFind(c.TimeZone, out _))
                return Decision<CoachState>.Reject(Rejection.Invalid, $"timeZone '{c.TimeZone}' is not an IANA time zone");
            return Decision<CoachState>.Accept(new CoachState(CoachState.CurrentSchemaVersion, c.CoachId, c.Name.Trim(), c.Email, c.TimeZone, c.Availability, [], []));
        }

        switch (message)
        {
            case CreateCoach:
                return Decision<CoachState>.Reject(Rejection.Conflict, "coach already exists");
            case SetAvailability m:
                return Decision<CoachState>.Accept(state with { Availability = m.Availability });
            case ClientEscalated m:
            {
                if (state.Alerts.Any(a => a.ClientId == m.ClientId && a.EscalationId == m.EscalationId))
                    return Decision<CoachState>.Unchanged(state); // a redelivered message
                var reserved = state.ReservedSlots.Where(s => s > now.AddDays(-1)).ToImmutableList(); // forget past slots
                var slot = NextFreeSlot(state with { ReservedSlots = reserved }, now);
                var number = Math.Max(state.AlertsRaised, state.Alerts.Count) + 1;
                var alert = new CoachAlert($"a{number}", m.ClientId, m.ClientName, m.CohortId, m.EscalationId, m.Reason,
                    m.Detail, m.RaisedAt, m.NextSessionAt, slot);
                var next = state with
                {
                    // Every turn of the coach reads and writes the whole list: it holds what is open and the recent past.
                    Alerts = state.Alerts.RemoveAll(a => a.HandledAt < now - HandledAlertsKeptFor).Add(alert),
                    AlertsRaised = number,
                    ReservedSlots = slot is { } s ? reserved.Add(s) : reserved,
                };
                return Decision<CoachState>.Accept(next, [new OfferSlot(m.ClientId, new SlotOffered(m.EscalationId, slot))]);
            }
            case HandleAlert m:
            {
                var index = state.Alerts.FindIndex(a => a.Id == m.AlertId);
                if (index < 0) return Decision<CoachState>.Reject(Rejection.NotFound, $"alert '{m.AlertId}' not found");
                var alert = state.Alerts[index];
                if (alert.HandledAt is not null) return Decision<CoachState>.Unchanged(state);
                var handled = alert with { HandledAt = now, HandledNote = m.Note };
                return Decision<CoachState>.Accept(
                    state with { Alerts = state.Alerts.SetItem(index, handled) },
                    [new TellClient(alert.ClientId, new EscalationHandled(alert.EscalationId, now))]);
            }
            case CoachReminderDue { Name: DigestReminder }:
            {
                if (state.Digest is not { Enabled: true } || state.NextDigestFor is not { } day || state.Email is null)
                    return Decision<CoachState>.Accept(state with { NextDigestAt = null, NextDigestFor = null });
                var effects = new List<Effect> { new RequestCoachDigest(state.CoachId, day) };
                return Decision<CoachState>.Accept(PlanDigest(state, now, effects), effects);
            }
            case ClientErased m:
                return Decision<CoachState>.Accept(state with
                {
                    Alerts = state.Alerts.Select(a => a.ClientId != m.ClientId ? a : a with
                    {
                        ClientName = ClientErasure.ErasedText,
                        Detail = ClientErasure.ErasedText,
                        HandledNote = a.HandledNote is null ? null : ClientErasure.ErasedText,
                    }).ToImmutableList(),
                });
            case CoachReminderDue:
                return Decision<CoachState>.Unchanged(state);
            case SetNorms m:
                return Decision<CoachState>.Accept(state with { Norms = m.Norms });
            case SetDigest m:
            {
                if (m.Settings.Hour is < 0 or > 23) return Decision<CoachState>.Reject(Rejection.Invalid, "hour must be between 0 and 23");
                if (m.Settings.Enabled && state.Email is null) return Decision<CoachState>.Reject(Rejection.Invalid, "the coach needs an email address for a digest");
                var effects = new List<Effect>();
                var next = PlanDigest(state with { Digest = m.Settings, Cohorts = m.Cohorts ?? state.Cohorts }, now, effects);
                return Decision<CoachState>.Accept(next, effects);
            }
            case CohortScheduled m:
            {
                var cohorts = state.Cohorts.RemoveAll(c => c.CohortId == m.CohortId);
                if (m.Active) cohorts = cohorts.Add(new CoachCohort(m.CohortId, m.Name, m.Schedule));
                var effects = new List<Effect>();
                return Decision<CoachState>.Accept(PlanDigest(state with { Cohorts = cohorts }, now, effects), effects);
            }
            case DigestComposed m:
            {
                if (state.Email is null) return Decision<CoachState>.Reject(Rejection.Invalid, "the coach has no email address");
                // One email per coach per session day: the touch id is the day, and the outbox never enqueues an id twice.
                var touch = new Touch($"digest-{m.SessionDate:yyyyMMdd}", Channel.Email, state.Email, m.Subject, m.Body, "coach-digest", null);
                return Decision<CoachState>.Accept(state, [new SendTouch(touch)]);
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(message), message.GetType().Name);
        }
    }

    public const string DigestReminder = "digest";

    /// <summary>Schedules (or cancels) the "digest" reminder for the next session day whose digest time is still ahead.</summary>
    private static CoachState PlanDigest(CoachState s, DateTimeOffset now, List<Effect> effects)
    {
        if (NextDigest(s, now) is { } next)
        {
            effects.Add(new ScheduleReminder(DigestReminder, next.At));
            return s with { NextDigestAt = next.At, NextDigestFor = next.Day };
        }
        effects.Add(new CancelReminder(DigestReminder));
        return s with { NextDigestAt = null, NextDigestFor = null };
    }

    /// <summary>
    /// The next digest after <paramref name="now"/>: for each coming session day (coach's local date) of the coach's
    /// active cohorts, the chosen hour that day — or the day before, when that hour is not before the day's first
    /// session. Several cohorts meeting the same day share one digest.
    /// </summary>
    public static (DateTimeOffset At, DateOnly Day)? NextDigest(CoachState s, DateTimeOffset now)
    {
        if (s.Digest is not { Enabled: true } digest || s.Cohorts.IsEmpty) return null;
        var zone = Zones.Find(s.TimeZone);
        var days = s.Cohorts
            .SelectMany(c => Zones.Sessions(c.Schedule, now, now.AddDays(35)))
            .GroupBy(at => DateOnly.FromDateTime(Zones.ToLocal(at, zone)))
            .Select(g => (Day: g.Key, First: g.Min()))
            .OrderBy(d => d.Day);
        foreach (var (day, first) in days)
        {
            var at = Zones.ToInstant(day, new TimeOnly(digest.Hour, 0), zone);
            if (at >= first) at = Zones.ToInstant(day.AddDays(-1), new TimeOnly(digest.Hour, 0), zone);
            if (at > now) return (at, day);
        }
        return null;
    }

    /// <summary>The first 15-minute slot inside an availability window, at least the lead time ahead, not reserved yet.</summary>
    public static DateTimeOffset? NextFreeSlot(CoachState s, DateTimeOffset now)
    {
        if (s.Availability.IsEmpty) return null;
        var zone = Zones.Find(s.TimeZone);
        var earliest = now + SlotLeadTime;
        var today = DateOnly.FromDateTime(Zones.ToLocal(now, zone));
        for (var d = 0; d <= SlotSearchDays; d++)
        {
            var date = today.AddDays(d);
            foreach (var w in s.Availability.Where(w => w.Day == date.DayOfWeek).OrderBy(w => w.Start))
            {
                for (var t = w.Start; t.Add(SlotLength) <= w.End && t.Add(SlotLength) > t; t = t.Add(SlotLength))
                {
                    var start = Zones.ToInstant(date, t, zone);
                    if (start >= earliest && !s.ReservedSlots.Contains(start)) return start;
                }
            }
        }
        return null;
    }
}
