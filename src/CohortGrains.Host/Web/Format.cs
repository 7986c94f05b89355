using System.Globalization;
using CohortGrains.Domain.Programs;

namespace CohortGrains.Host.Web;

/// <summary>How the pages write times, rates and statuses: the same words everywhere, in the reader's zone.</summary>
public static class Format
{
    private static readonly CultureInfo s_culture = CultureInfo.InvariantCulture;

    public static string Percent(double? rate) => rate is { } r ? Math.Round(r * 100).ToString("0", s_culture) + "%" : "—";

    /// <summary>"Tue 3 Mar, 10:30" in <paramref name="zone"/> (UTC when the zone is unknown).</summary>
    public static string Local(DateTimeOffset at, string? zone, string pattern = "ddd d MMM, HH:mm") =>
        (Zones.TryFind(zone, out var z) ? Zones.ToLocal(at, z) : at.UtcDateTime).ToString(pattern, s_culture);

    public static string Date(DateOnly date) => date.ToString("ddd d MMM", s_culture);

    /// <summary>"New York" for America/New_York: how a zone is named next to a time.</summary>
    public static string ZoneName(string? zone) =>
        string.IsNullOrEmpty(zone) ? "UTC" : zone[(zone.LastIndexOf('/') + 1)..].Replace('_', ' ');

    public static string Ago(DateTimeOffset at, DateTimeOffset now)
    {
        var span = now - at;
        if (span < TimeSpan.FromMinutes(1)) return "just now";
        if (span < TimeSpan.FromHours(1)) return Plural((int)span.TotalMinutes, "minute") + " ago";
        if (span < TimeSpan.FromDays(1)) return Plural((int)span.TotalHours, "hour") + " ago";
        return Plural((int)span.TotalDays, "day") + " ago";
    }

    public static string Plural(int n, string word) => n.ToString(s_culture) + " " + (n == 1 ? word : word + "s");

    public static string Status(string? status) => status switch
    {
        "on-track" => "On track",
        "stuck" => "Stuck",
        "silent" => "Silent",
        "done" => "Done",
        "paused" => "Paused",
        null or "" => "—",
        _ => status,
    };

    /// <summary>PRODUCT.md's weak/strong bands per metric: reply 30/60 %, completion 45/70 %, catch 40/80 %.</summary>
    public static string Band(string metric, double? rate) => (metric, rate) switch
    {
        (_, null) => "none",
        ("reply", { } r) => r < 0.30 ? "weak" : r >= 0.60 ? "strong" : "ok",
        ("completion", { } r) => r < 0.45 ? "weak" : r >= 0.70 ? "strong" : "ok",
        ("catch", { } r) => r < 0.40 ? "weak" : r >= 0.80 ? "strong" : "ok",
        _ => "plain",
    };

    public static string BandWords(string band) => band switch
    {
        "weak" => "weak",
        "strong" => "strong",
        "ok" => "fair",
        _ => "",
    };

    public static string Channel(string? channel) => channel switch
    {
        "sms" => "SMS",
        "email" => "Email",
        "inapp" => "Portal",
        null => "",
        _ => channel,
    };
}
