using System.Globalization;
using System.Text.RegularExpressions;
using CohortGrains.Domain.Programs;

namespace CohortGrains.Host.Infrastructure;

/// <summary>Parsing of the small value types the API accepts as strings, each reporting a field error.</summary>
public static partial class Parse
{
    public static TimeOnly? Time(Validation v, string? value, string field, bool required = true)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            if (required) v.Add(field, "is required (HH:mm)");
            return null;
        }
        if (TimeOnly.TryParseExact(value.Trim(), ["HH:mm", "HH:mm:ss"], CultureInfo.InvariantCulture, DateTimeStyles.None, out var t)) return t;
        v.Add(field, "must be a time of day as HH:mm");
        return null;
    }

    public static DayOfWeek? Day(Validation v, string? value, string field)
    {
        if (value is not null && Enum.TryParse<DayOfWeek>(value.Trim(), ignoreCase: true, out var d) && Enum.IsDefined(d) && !value.Trim().All(char.IsDigit))
            return d;
        v.Add(field, "must be a weekday name (monday … sunday)");
        return null;
    }

    public static string? Zone(Validation v, string? value, string field)
    {
        if (Zones.TryFind(value, out _)) return value!.Trim();
        v.Add(field, string.IsNullOrWhiteSpace(value) ? "is required (an IANA time zone such as America/New_York)" : $"'{Truncate(value)}' is not an IANA time zone");
        return null;
    }

    public static DateOnly? Date(Validation v, string? value, string field)
    {
        if (string.IsNullOrWhiteSpace(value)) return null;
        if (DateOnly.TryParseExact(value.Trim(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d)) return d;
        v.Add(field, "must be a date as yyyy-MM-dd");
        return null;
    }

    /// <summary>E.164: + then 8 to 15 digits. Common separators are removed first.</summary>
    public static string? Phone(Validation v, string? value, string field)
    {
        if (string.IsNullOrWhiteSpace(value)) return null;
        var compact = value.Trim().Replace(" ", "").Replace("-", "").Replace("(", "").Replace(")", "").Replace(".", "");
        if (E164().IsMatch(compact)) return compact;
        v.Add(field, "must be a phone number in E.164 form, e.g. +14155550123");
        return null;
    }

    public static string? Email(Validation v, string? value, string field)
    {
        if (string.IsNullOrWhiteSpace(value)) return null;
        var trimmed = value.Trim();
        if (trimmed.Length <= 254 && EmailShape().IsMatch(trimmed)) return trimmed;
        v.Add(field, "must be an email address");
        return null;
    }

    public static string Truncate(string s, int max = 40) => s.Length <= max ? s : s[..max] + "…";

    [GeneratedRegex(@"^\+[1-9][0-9]{7,14}$")]
    private static partial Regex E164();

    [GeneratedRegex(@"^[^@\s<>""]+@[^@\s<>""]+\.[^@\s<>""]+$")]
    private static partial Regex EmailShape();
}
