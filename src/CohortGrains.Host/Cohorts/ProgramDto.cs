using System.Collections.Immutable;
using CohortGrains.Domain.Common;
using CohortGrains.Domain.Programs;
using CohortGrains.Host.Infrastructure;
using DomainQuietHours = CohortGrains.Domain.Programs.QuietHours;

namespace CohortGrains.Host.Cohorts;

public sealed record QuietHoursDto(string? Start, string? End);
public sealed record TouchpointDto(string? Key, int? DayOffset, string? Channel, string? Kind, string? Template);

/// <summary>A program as the API speaks it; everything but the session schedule has a sensible default.</summary>
public sealed record ProgramDto(
    int? Weeks,
    string? SessionDay,
    string? SessionTime,
    string? TimeZone,
    int? IntervalWeeks,
    int? WeeklyCap,
    QuietHoursDto? QuietHours,
    int? SilentAfterHours,
    List<TouchpointDto?>? Cadence)
{
    /// <summary>The first session's local date (yyyy-MM-dd): with it a biweekly program knows which weeks it meets in.</summary>
    public string? FirstSessionDate { get; init; }

    /// <summary>Each touchpoint's template version (read-only: the cohort numbers its edits), by key.</summary>
    public Dictionary<string, int>? TemplateVersions { get; init; }

    public static ProgramDto From(ProgramDefinition p) => new(
        p.Weeks, p.Schedule.Day.ToString().ToLowerInvariant(), p.Schedule.LocalTime.ToString("HH:mm"), p.Schedule.TimeZone, p.Schedule.IntervalWeeks,
        p.WeeklyCap, new QuietHoursDto(p.QuietHours.Start.ToString("HH:mm"), p.QuietHours.End.ToString("HH:mm")), p.SilentAfterHours,
        p.Cadence.Select(t => (TouchpointDto?)new TouchpointDto(t.Key, t.DayOffset, t.Channel.ToString().ToLowerInvariant(), ToWire(t.Kind), t.Template)).ToList())
    {
        FirstSessionDate = p.Schedule.FirstSessionDate?.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
        TemplateVersions = p.Cadence.ToDictionary(t => t.Key, t => t.TemplateVersion),
    };

    private static string ToWire(TouchKind kind) => kind switch
    {
        TouchKind.Nudge => "nudge",
        TouchKind.ProgressCheck => "progress-check",
        _ => "prep",
    };

    public ProgramDefinition? ToDefinition(Validation v, string field)
    {
        var day = Parse.Day(v, SessionDay, $"{field}.sessionDay");
        var time = Parse.Time(v, SessionTime, $"{field}.sessionTime");
        var zone = Parse.Zone(v, TimeZone, $"{field}.timeZone");
        var quiet = QuietHours is null ? DomainQuietHours.Default : ParseQuiet(v, QuietHours, $"{field}.quietHours");
        // A biweekly program's default cadence covers both weeks and preps the day before the next session.
        var cadence = Cadence is null ? ProgramDefinition.DefaultCadenceFor(IntervalWeeks ?? 1) : ParseCadence(v, Cadence, $"{field}.cadence");
        var firstSession = Parse.Date(v, FirstSessionDate, $"{field}.firstSessionDate");
        if (!v.IsValid) return null;

        var program = new ProgramDefinition(
            Weeks ?? 8,
            new SessionSchedule(day!.Value, time!.Value, zone!, IntervalWeeks ?? 1) { FirstSessionDate = firstSession },
            cadence,
            WeeklyCap ?? ProgramDefinition.DefaultWeeklyCap,
            quiet!,
            SilentAfterHours ?? 24);
        foreach (var (f, message) in program.Validate()) v.Add(field + f["program".Length..], message);
        return v.IsValid ? program : null;
    }

    private static DomainQuietHours? ParseQuiet(Validation v, QuietHoursDto q, string field)
    {
        var start = Parse.Time(v, q.Start, field + ".start");
        var end = Parse.Time(v, q.End, field + ".end");
        if (start is null || end is null) return null;
        var quiet = new DomainQuietHours(start.Value, end.Value);
        // Quiet hours may be longer than the TCPA floor, never shorter: 21:00–08:00 must stay quiet.
        if (!quiet.Contains(new TimeOnly(21, 0)) || !quiet.Contains(new TimeOnly(7, 59)) || !quiet.Contains(new TimeOnly(0, 0)))
            v.Add(field, "must cover at least 21:00–08:00 local time");
        return quiet;
    }

    private static ImmutableList<Touchpoint> ParseCadence(Validation v, List<TouchpointDto?> list, string field)
    {
        if (list.Count > 10) v.Add(field, "must have at most 10 touchpoints");
        var result = ImmutableList.CreateBuilder<Touchpoint>();
        for (var i = 0; i < Math.Min(list.Count, 10); i++)
        {
            var f = $"{field}[{i}]";
            if (list[i] is not { } t)
            {
                v.Add(f, "is required");
                continue;
            }
            var key = v.Text(t.Key, f + ".key", 32);
            if (t.DayOffset is null) v.Add(f + ".dayOffset", "is required");
            Channel? channel = t.Channel?.Trim().ToLowerInvariant() switch
            {
                "sms" => Channel.Sms,
                "email" => Channel.Email,
                "inapp" or "in-app" or "portal" => Channel.InApp,
                _ => null,
            };
            if (channel is null) v.Add(f + ".channel", "must be sms, email or inapp");
            TouchKind? kind = t.Kind?.Trim().ToLowerInvariant() switch
            {
                "nudge" => TouchKind.Nudge,
                "progress-check" or "progresscheck" or "check-in" => TouchKind.ProgressCheck,
                "prep" => TouchKind.Prep,
                _ => null,
            };
            if (kind is null) v.Add(f + ".kind", "must be nudge, progress-check or prep");
            var template = v.Text(t.Template, f + ".template", 1000, required: false);
            if (key is not null && t.DayOffset is { } offset && channel is { } c && kind is { } k)
                result.Add(new Touchpoint(key, offset, c, k, template));
        }
        return result.ToImmutable();
    }
}
