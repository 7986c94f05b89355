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
public sealed record SessionSchedule(DayOfWeek Day, TimeOnly LocalTime, string TimeZone, int IntervalWeeks = 1);

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
        new(weeks, schedule, DefaultCadence, DefaultWeeklyCap, QuietHours.Default, 24);

    /// <summary>Problems with the definition, as (field, message) pairs; empty when valid.</summary>
    public IEnumerable<(string Field, string Message)> Validate()
    {
        if (Weeks is < 1 or > 104) yield return ("program.weeks", "must be between 1 and 104");
        if (WeeklyCap is < 1 or > 14) yield return ("program.weeklyCap", "must be between 1 and 14");
        if (SilentAfterHours is < 1 or > 168) yield return ("program.silentAfterHours", "must be between 1 and 168");
        if (Schedule.IntervalWeeks is < 1 or > 4) yield return ("program.schedule.intervalWeeks", "must be between 1 and 4");
        if (!Zones.TryFind(Schedule.TimeZone, out _)) yield return ("program.schedule.timeZone", $"'{Schedule.TimeZone}' is not an IANA time zone");
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
        }
        if (Cadence.Select(t => t.Key).Distinct(StringComparer.OrdinalIgnoreCase).Count() != Cadence.Count)
            yield return ("program.cadence", "touchpoint keys must be unique");
    }
}
