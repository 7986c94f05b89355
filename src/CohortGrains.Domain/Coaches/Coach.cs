using System.Collections.Immutable;
using System.Text.Json.Serialization;
using CohortGrains.Domain.ClientLoops;
using CohortGrains.Domain.Common;
using CohortGrains.Domain.Programs;

namespace CohortGrains.Domain.Coaches;

/// <summary>A weekly window the coach offers for short calls, in the coach's zone.</summary>
public sealed record AvailabilityWindow(DayOfWeek Day, TimeOnly Start, TimeOnly End);

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
    public const int CurrentSchemaVersion = 1;
    [JsonIgnore]
    public int OpenAlerts => Alerts.Count(a => a.HandledAt is null);
}

[JsonPolymorphic(TypeDiscriminatorPropertyName = "$type")]
[JsonDerivedType(typeof(CreateCoach), "createCoach")]
[JsonDerivedType(typeof(SetAvailability), "setAvailability")]
[JsonDerivedType(typeof(ClientEscalated), "clientEscalated")]
[JsonDerivedType(typeof(HandleAlert), "handleAlert")]
[JsonDerivedType(typeof(CoachReminderDue), "reminderDue")]
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

/// <summary>Coaches have no reminders yet; the type exists so the runtime can deliver one uniformly.</summary>
public sealed record CoachReminderDue(string Name) : CoachMessage;

public static class CoachDecider
{
    public const string GrainType = "Coach";
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
                var alert = new CoachAlert($"a{state.Alerts.Count + 1}", m.ClientId, m.ClientName, m.CohortId, m.EscalationId, m.Reason,
                    m.Detail, m.RaisedAt, m.NextSessionAt, slot);
                var next = state with
                {
                    Alerts = state.Alerts.Add(alert),
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
            default:
                throw new ArgumentOutOfRangeException(nameof(message), message.GetType().Name);
        }
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
