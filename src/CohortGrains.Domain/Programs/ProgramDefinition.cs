using System.Collections.Immutable;
using System.Text.Json.Serialization;
using CohortGrains.Domain.Common;

namespace CohortGrains.Domain.Programs;

[JsonConverter(typeof(JsonStringEnumConverter<TouchKind>))]
public enum TouchKind
{
    /// <summary>Light nudge ("Started on X yet?").</summary>
    Nudge,
    /// <summary>Progress check: 1–5 rating plus an obstacle prompt; silence after it marks the client silent.</summary>
    ProgressCheck,
    /// <summary>Pre-session prep ("bring this to our call").</summary>
    Prep,
}

/// <summary>One step of the between-session cadence, relative to the session day.</summary>
/// <param name="Key">Stable name within the program ("day2"); part of every touch id.</param>
/// <param name="DayOffset">Days after the session's local date.</param>
/// <param name="Template">Optional override of the default wording; placeholders as in <see cref="ClientLoops.Templates"/>.</param>
public sealed record Touchpoint(string Key, int DayOffset, Channel Channel, TouchKind Kind, string? Template = null)
{
    /// <summary>Whether the touch asks for an answer (opens a prompt). Prep only informs.</summary>
    [JsonIgnore]
    public bool AsksForReply => Kind != TouchKind.Prep;

    /// <summary>
    /// Bumped by the cohort each time the wording of this touchpoint changes, so reply rates can be compared
    /// before and after an edit. Schema v1 states have none: they mean version 1.
    /// </summary>
    // The JSON source generator assigns a missing init-only member its default (0), not the initializer: map it back.
    public int TemplateVersion { get => _templateVersion; init => _templateVersion = value < 1 ? 1 : value; }
    private readonly int _templateVersion = 1;
}

/// <summary>Quiet hours in the client's local time; when Start &gt; End they wrap midnight (21:00–08:00).</summary>
public sealed record QuietHours(TimeOnly Start, TimeOnly End)
{
    /// <summary>US TCPA allows 8:00–21:00 local; we use that as the default.</summary>
    public static readonly QuietHours Default = new(new TimeOnly(21, 0), new TimeOnly(8, 0));

    public bool Contains(TimeOnly t) =>
        Start == End ? false
        : Start < End ? t >= Start && t < End
        : t >= Start || t < End;
}

/// <summary>When sessions happen: every <paramref name="IntervalWeeks"/> weeks on a weekday at a local time.</summary>
public sealed record SessionSchedule(DayOfWeek Day, TimeOnly LocalTime, string TimeZone, int IntervalWeeks = 1)
{
    /// <summary>
    /// The local date of the first session. A weekday alone cannot say which weeks a biweekly program meets in;
    /// with this date every session date is known (first + k·interval weeks). Optional: without it the next
    /// session is counted from the session just held.
    /// </summary>
    public DateOnly? FirstSessionDate { get; init; }
}

public sealed record ProgramDefinition(
    int Weeks,
    SessionSchedule Schedule,
    ImmutableList<Touchpoint> Cadence,
    int WeeklyCap,
    QuietHours QuietHours,
    int SilentAfterHours)
{
    public const int DefaultWeeklyCap = 4;

    public static ImmutableList<Touchpoint> DefaultCadence { get; } =
    [
        new("day2", 2, Channel.Sms, TouchKind.Nudge),
        new("day5", 5, Channel.Sms, TouchKind.ProgressCheck),
        new("day6", 6, Channel.Email, TouchKind.Prep),
    ];

    public static ProgramDefinition Default(SessionSchedule schedule, int weeks = 8) =>
        new(weeks, schedule, DefaultCadenceFor(schedule.IntervalWeeks), DefaultWeeklyCap, QuietHours.Default, 24);

    /// <summary>
    /// The default cadence stretched over the interval between sessions: every week a Day-2 nudge and a Day-5
    /// check, and the prep email the day before the next session (Day 6 weekly, Day 13 biweekly). Without this a
    /// biweekly client would hear nothing in the second week and get "before our call" a week early.
    /// </summary>
    public static ImmutableList<Touchpoint> DefaultCadenceFor(int intervalWeeks)
    {
        if (intervalWeeks <= 1) return DefaultCadence;
        var cadence = ImmutableList.CreateBuilder<Touchpoint>();
        for (var week = 0; week < intervalWeeks; week++)
        {
            cadence.Add(new Touchpoint($"day{week * 7 + 2}", week * 7 + 2, Channel.Sms, TouchKind.Nudge));
            cadence.Add(new Touchpoint($"day{week * 7 + 5}", week * 7 + 5, Channel.Sms, TouchKind.ProgressCheck));
        }
        var prep = intervalWeeks * 7 - 1;
        cadence.Add(new Touchpoint($"day{prep}", prep, Channel.Email, TouchKind.Prep));
        return cadence.ToImmutable();
    }

    /// <summary>Sessions in the whole program: one every IntervalWeeks over Weeks (8 weekly, 4 biweekly in 8 weeks).</summary>
    [JsonIgnore]
    public int TotalSessions => Math.Max(1, (Weeks + Schedule.IntervalWeeks - 1) / Math.Max(1, Schedule.IntervalWeeks));

    /// <summary>
    /// The session after which the midpoint feedback check goes out (4 of 8, 2 of 4). Programs of fewer than three
    /// sessions have no midpoint worth the name: their closing reflection covers it.
    /// </summary>
    [JsonIgnore]
    public int? MidpointSession => TotalSessions >= 3 ? (TotalSessions + 1) / 2 : null;

    /// <summary>Problems with the definition, as (field, message) pairs; empty when valid.</summary>
    public IEnumerable<(string Field, string Message)> Validate()
    {
        if (Weeks is < 1 or > 104) yield return ("program.weeks", "must be between 1 and 104");
        if (WeeklyCap is < 1 or > 14) yield return ("program.weeklyCap", "must be between 1 and 14");
        if (SilentAfterHours is < 1 or > 168) yield return ("program.silentAfterHours", "must be between 1 and 168");
        if (Schedule.IntervalWeeks is < 1 or > 4) yield return ("program.schedule.intervalWeeks", "must be between 1 and 4");
        if (!Zones.TryFind(Schedule.TimeZone, out _)) yield return ("program.schedule.timeZone", $"'{Schedule.TimeZone}' is not an IANA time zone");
        if (Schedule.FirstSessionDate is { } first && first.DayOfWeek != Schedule.Day)
            yield return ("program.firstSessionDate", $"must be a {Schedule.Day} like the session day ({first:yyyy-MM-dd} is a {first.DayOfWeek})");
        if (Cadence.Count is 0 or > 10) yield return ("program.cadence", "must have between 1 and 10 touchpoints");
        var days = Schedule.IntervalWeeks * 7;
        for (var i = 0; i < Cadence.Count; i++)
        {
            var tp = Cadence[i];
            if (string.IsNullOrWhiteSpace(tp.Key) || tp.Key.Length > 32 || !tp.Key.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
                yield return ($"program.cadence[{i}].key", "must be 1–32 letters, digits, '-' or '_'");
            if (tp.DayOffset < 1 || tp.DayOffset >= days)
                yield return ($"program.cadence[{i}].dayOffset", $"must be between 1 and {days - 1} (before the next session)");
            if (tp.Template is { Length: > 1000 }) yield return ($"program.cadence[{i}].template", "must be at most 1000 characters");
            else if (tp.Template is not null && ClientLoops.Templates.UnknownPlaceholders(tp.Template).FirstOrDefault() is { } unknown)
                yield return ($"program.cadence[{i}].template", $"uses unknown placeholder {{{unknown}}}; use {ClientLoops.Templates.PlaceholderList}");
        }
        if (Cadence.Select(t => t.Key).Distinct(StringComparer.OrdinalIgnoreCase).Count() != Cadence.Count)
            yield return ("program.cadence", "touchpoint keys must be unique");
    }
}
