using System.Collections.Immutable;
using CohortGrains.Domain.ClientLoops;
using CohortGrains.Domain.Common;
using CohortGrains.Domain.Programs;

namespace CohortGrains.Domain.Tests;

/// <summary>Fixed instants and small builders, so every test reads as "given this client, when this happens".</summary>
public static class A
{
    public const string NewYork = "America/New_York";
    public const string Berlin = "Europe/Berlin";

    /// <summary>Parses an ISO instant ("2026-06-01T18:00Z").</summary>
    public static DateTimeOffset T(string iso) => DateTimeOffset.Parse(iso, System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A wall-clock time in a zone, for readable expectations ("09:00 in New York on 2026-06-03").</summary>
    public static DateTimeOffset Local(string zone, int year, int month, int day, int hour, int minute = 0) =>
        Zones.ToInstant(new DateOnly(year, month, day), new TimeOnly(hour, minute), Zones.Find(zone));

    /// <summary>Mon 2026-06-01 14:00 EDT — a plain summer week in New York, no DST anywhere near.</summary>
    public static readonly DateTimeOffset SessionAt = T("2026-06-01T18:00Z");
    public static readonly DateTimeOffset NextSessionAt = T("2026-06-08T18:00Z");

    public static readonly QuietHours NoQuietHours = new(new TimeOnly(0, 0), new TimeOnly(0, 0));

    public static ClientProfile Profile(string zone = NewYork, int preferredHour = 9, QuietHours? quiet = null,
        string? phone = "+12125550100", string? email = "dana@example.com", string name = "Dana Whitfield") =>
        new(name, phone, email, zone, preferredHour, quiet);

    public static ProgramDefinition Program(ImmutableList<Touchpoint>? cadence = null, int weeklyCap = ProgramDefinition.DefaultWeeklyCap,
        QuietHours? quiet = null, int silentAfterHours = 24) =>
        new(8, new SessionSchedule(DayOfWeek.Monday, new TimeOnly(14, 0), NewYork), cadence ?? ProgramDefinition.DefaultCadence,
            weeklyCap, quiet ?? QuietHours.Default, silentAfterHours);

    /// <summary>One nudge a day on days 1..n — handy for caps and DST weeks.</summary>
    public static ImmutableList<Touchpoint> DailyNudges(int days) =>
        Enumerable.Range(1, days).Select(d => new Touchpoint($"day{d}", d, Channel.Sms, TouchKind.Nudge)).ToImmutableList();

    public static Enroll Enroll(ClientProfile? profile = null, Consent? consent = null, ProgramDefinition? program = null) =>
        new("client-1", "cohort-1", "coach-1", "Sam Rivera", profile ?? Profile(), consent ?? new Consent(SmsOptIn: true), program ?? Program());

    public static readonly SessionNote Note = new("Pipeline", "Avoids the phone", "Two calls", "Time", "How the calls went");

    public static ImmutableList<NewActionItem> Items(params string[] what) =>
        what.Select(w => new NewActionItem(w, null, null)).ToImmutableList();

    public static SessionCompleted Session(DateTimeOffset? at = null, DateTimeOffset? next = null, ProgramDefinition? program = null,
        ImmutableList<NewActionItem>? items = null) =>
        new(at ?? SessionAt, next ?? NextSessionAt,
            items ?? [new NewActionItem("Make two prospecting calls", new DateOnly(2026, 6, 5), "How the prospect reacts to the price"),
                      new NewActionItem("Draft the pricing page", null, null)],
            Note, program ?? Program());

    public static CheckInReplied Reply(string? text, int? rating = null, string? promptId = null, Channel channel = Channel.Sms) =>
        new(rating, text, promptId, channel);
}

/// <summary>
/// A client's loop driven like the runtime drives it: effects are applied (timers kept in a table, touches
/// collected) and due timers fire in order. After every turn it checks that the state's reminder list and
/// the timer table agree and hold no name twice.
/// </summary>
public sealed class LoopScenario
{
    public ClientLoopState State { get; private set; } = null!;
    public SortedDictionary<string, DateTimeOffset> Timers { get; } = new(StringComparer.Ordinal);
    public List<(DateTimeOffset At, Touch Touch)> Sent { get; } = [];
    public List<(DateTimeOffset At, Effect Effect)> AllEffects { get; } = [];
    /// <summary>Every ScheduleReminder ever issued, in order.</summary>
    public List<ScheduleReminder> Scheduled { get; } = [];

    public static LoopScenario Enrolled(Enroll? enroll = null, DateTimeOffset? at = null)
    {
        var scenario = new LoopScenario();
        scenario.Expect(enroll ?? A.Enroll(), at ?? A.SessionAt.AddDays(-7));
        return scenario;
    }

    /// <summary>Enrolled with the default client and a session logged (Mon 2026-06-01 14:00 EDT, next Mon 06-08).</summary>
    public static LoopScenario AfterSession(Enroll? enroll = null, SessionCompleted? session = null, DateTimeOffset? loggedAt = null)
    {
        var scenario = Enrolled(enroll);
        var s = session ?? A.Session();
        scenario.Expect(s, loggedAt ?? s.OccurredAt.AddHours(1));
        return scenario;
    }

    public Decision<ClientLoopState> Tell(ClientLoopMessage message, DateTimeOffset now)
    {
        var d = ClientLoopDecider.Decide(State, message, now);
        if (d.Rejected is not null)
        {
            Assert.Null(d.State);
            Assert.Empty(d.Effects);
            return d;
        }
        State = d.State!;
        foreach (var e in d.Effects)
        {
            AllEffects.Add((now, e));
            switch (e)
            {
                case ScheduleReminder r: Timers[r.Name] = r.DueAt; Scheduled.Add(r); break;
                case CancelReminder c: Timers.Remove(c.Name); break;
                case SendTouch t: Sent.Add((now, t.Touch)); break;
            }
        }
        Assert.Equal(State.Reminders.Count, State.Reminders.Distinct().Count());
        Assert.Equal(Timers.Keys.Order(StringComparer.Ordinal), State.Reminders.Order(StringComparer.Ordinal));
        return d;
    }

    /// <summary>Tells and asserts the message was accepted.</summary>
    public Decision<ClientLoopState> Expect(ClientLoopMessage message, DateTimeOffset now)
    {
        var d = Tell(message, now);
        Assert.True(d.Rejected is null, $"{message.GetType().Name} was rejected: {d.Rejected}");
        return d;
    }

    /// <summary>Fires every timer due at or before <paramref name="until"/>, earliest first, each at its due instant.</summary>
    public void RunUntil(DateTimeOffset until)
    {
        while (Timers.Where(t => t.Value <= until).OrderBy(t => t.Value).ThenBy(t => t.Key, StringComparer.Ordinal).FirstOrDefault() is { Key: not null } next)
        {
            Timers.Remove(next.Key);
            Expect(new ReminderDue(next.Key), next.Value);
        }
    }

    /// <summary>Fires one timer at a chosen instant (a timer firing late, a node down).</summary>
    public Decision<ClientLoopState> Fire(string name, DateTimeOffset at)
    {
        Timers.Remove(name);
        return Expect(new ReminderDue(name), at);
    }

    public DateTimeOffset Due(string name) => Timers.TryGetValue(name, out var due) ? due : throw new Xunit.Sdk.XunitException($"no timer '{name}'; timers: {string.Join(", ", Timers.Keys)}");

    public Touch SentTouch(string touchId) => Sent.Single(s => s.Touch.Id == touchId).Touch;

    public IEnumerable<AlertCoach> Alerts => AllEffects.Select(e => e.Effect).OfType<AlertCoach>();
}
