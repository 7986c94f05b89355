namespace CohortGrains.Domain.Programs;

/// <summary>
/// Local wall-clock time ↔ instants in IANA zones, with the daylight-saving rules people expect:
/// a local time that does not exist (spring forward) moves forward by the gap, and a local time that
/// happens twice (fall back) means its first occurrence — so nothing fires an hour off or twice.
/// </summary>
public static class Zones
{
    public static bool TryFind(string? id, out TimeZoneInfo zone)
    {
        zone = TimeZoneInfo.Utc;
        if (string.IsNullOrWhiteSpace(id) || id.Length > 64) return false;
        try
        {
            zone = TimeZoneInfo.FindSystemTimeZoneById(id);
            // Accept IANA ids only (Windows ids convert silently on some platforms).
            return zone.HasIanaId || id == "UTC";
        }
        catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            return false;
        }
    }

    public static TimeZoneInfo Find(string id) =>
        TryFind(id, out var zone) ? zone : throw new ArgumentException($"'{id}' is not an IANA time zone", nameof(id));

    public static DateTimeOffset ToInstant(DateOnly date, TimeOnly time, TimeZoneInfo zone)
    {
        var local = date.ToDateTime(time, DateTimeKind.Unspecified);
        if (zone.IsInvalidTime(local))
        {
            // In the spring-forward gap: shift by the gap's length (02:30 → 03:30 in New York).
            var gap = zone.GetUtcOffset(local.AddHours(6)) - zone.GetUtcOffset(local.AddHours(-6));
            local = local.Add(gap);
        }
        var offset = zone.IsAmbiguousTime(local)
            ? zone.GetAmbiguousTimeOffsets(local).Max() // the larger offset is the earlier instant: the first occurrence
            : zone.GetUtcOffset(local);
        return new DateTimeOffset(local, offset).ToUniversalTime();
    }

    public static DateTime ToLocal(DateTimeOffset instant, TimeZoneInfo zone) =>
        TimeZoneInfo.ConvertTime(instant, zone).DateTime;

    /// <summary>The instant itself when it is outside quiet hours, else the first minute after them (local time).</summary>
    public static DateTimeOffset NextAllowed(DateTimeOffset instant, QuietHours quiet, TimeZoneInfo zone)
    {
        var local = ToLocal(instant, zone);
        var time = TimeOnly.FromDateTime(local);
        if (!quiet.Contains(time)) return instant;
        var date = DateOnly.FromDateTime(local);
        // In the evening part of a window that wraps midnight, the window ends tomorrow.
        if (quiet.Start > quiet.End && time >= quiet.Start) date = date.AddDays(1);
        return ToInstant(date, quiet.End, zone);
    }

    /// <summary>The next session start strictly after <paramref name="after"/> on the schedule.</summary>
    public static DateTimeOffset NextSession(SessionSchedule schedule, DateTimeOffset after)
    {
        var zone = Find(schedule.TimeZone);
        // A session on the schedule within 12 hours of "after" is the one just held (logged late, or early).
        if (schedule.FirstSessionDate is { } first) return FirstAnchoredAfter(schedule, first, after.AddHours(12), zone);
        var date = DateOnly.FromDateTime(ToLocal(after, zone));
        // Sessions happen every IntervalWeeks; the next one is IntervalWeeks after the session just held.
        var days = ((int)schedule.Day - (int)date.DayOfWeek + 7) % 7;
        var candidate = ToInstant(date.AddDays(days), schedule.LocalTime, zone);
        if (candidate <= after.AddHours(12)) candidate = ToInstant(date.AddDays(days + 7 * schedule.IntervalWeeks), schedule.LocalTime, zone);
        else if (schedule.IntervalWeeks > 1) candidate = ToInstant(date.AddDays(days + 7 * (schedule.IntervalWeeks - 1)), schedule.LocalTime, zone);
        return candidate;
    }

    /// <summary>The first session on the anchored calendar (first + k·interval weeks, k ≥ 0) strictly after <paramref name="threshold"/>.</summary>
    private static DateTimeOffset FirstAnchoredAfter(SessionSchedule schedule, DateOnly first, DateTimeOffset threshold, TimeZoneInfo zone)
    {
        var step = 7 * Math.Max(1, schedule.IntervalWeeks);
        var localDate = DateOnly.FromDateTime(ToLocal(threshold, zone));
        var k = Math.Max(0, (localDate.DayNumber - first.DayNumber) / step);
        while (true)
        {
            var candidate = ToInstant(first.AddDays(k * step), schedule.LocalTime, zone);
            if (candidate > threshold) return candidate;
            k++;
        }
    }

    /// <summary>
    /// Every session instant in (<paramref name="from"/>, <paramref name="to"/>]. Anchored schedules give exactly their
    /// dates; without a first-session date a biweekly schedule cannot tell its weeks apart, so every matching weekday
    /// is returned (a superset: callers that plan ahead of sessions then plan once too often, never too rarely).
    /// </summary>
    public static IEnumerable<DateTimeOffset> Sessions(SessionSchedule schedule, DateTimeOffset from, DateTimeOffset to)
    {
        var zone = Find(schedule.TimeZone);
        var step = 7 * Math.Max(1, schedule.IntervalWeeks);
        var date = DateOnly.FromDateTime(ToLocal(from, zone)).AddDays(-1);
        var last = DateOnly.FromDateTime(ToLocal(to, zone)).AddDays(1);
        for (; date <= last; date = date.AddDays(1))
        {
            if (date.DayOfWeek != schedule.Day) continue;
            if (schedule.FirstSessionDate is { } first && (date < first || (date.DayNumber - first.DayNumber) % step != 0)) continue;
            var at = ToInstant(date, schedule.LocalTime, zone);
            if (at > from && at <= to) yield return at;
        }
    }
}
