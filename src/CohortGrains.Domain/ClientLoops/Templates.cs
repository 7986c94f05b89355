using CohortGrains.Domain.Common;
using CohortGrains.Domain.Programs;

namespace CohortGrains.Domain.ClientLoops;

/// <summary>
/// The wording of each touch. Every message names the client's actual commitments.
/// Placeholders: {firstName}, {commitments} (all items, "a, b and c"), {firstCommitment}, {notice},
/// {nextSession} (local weekday and time), {coachName}.
/// </summary>
public static partial class Templates
{
    /// <summary>The placeholders a coach may use in a touchpoint's template.</summary>
    public static readonly IReadOnlyList<string> Placeholders = ["firstName", "commitments", "firstCommitment", "notice", "nextSession", "coachName"];

    public static string PlaceholderList => string.Join(", ", Placeholders.Select(p => "{" + p + "}"));

    [System.Text.RegularExpressions.GeneratedRegex(@"\{([A-Za-z]+)\}")]
    private static partial System.Text.RegularExpressions.Regex Placeholder();

    /// <summary>Placeholders a template uses that do not exist: a typo would otherwise reach the client verbatim ("Hi {firstname}").</summary>
    public static IEnumerable<string> UnknownPlaceholders(string template) =>
        Placeholder().Matches(template).Select(m => m.Groups[1].Value).Where(p => !Placeholders.Contains(p)).Distinct();

    /// <summary>The placeholders a template uses, in order of first use.</summary>
    public static IEnumerable<string> UsedPlaceholders(string template) =>
        Placeholder().Matches(template).Select(m => m.Groups[1].Value).Where(Placeholders.Contains).Distinct();

    /// <summary>Added to the prep email: the client's reply becomes a reflection on the session (see the inbound email path).</summary>
    public const string PrepReflectionInvite = "\n\nReply to this email with a short reflection: {coachName} reads it before the call.";

    public static string Default(TouchKind kind) => kind switch
    {
        TouchKind.Nudge => "Hi {firstName}, started on {firstCommitment} yet? Reply with a word on how it's going.",
        TouchKind.ProgressCheck => "Hi {firstName}, how did {commitments} go? Reply 1-5 (5 = nailed it) and tell me anything in your way.",
        TouchKind.Prep => "Hi {firstName}, before our call on {nextSession}: bring what happened with {commitments}, what got in the way, and what you noticed{notice}.",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    public const string SlotOffer = "Hi {firstName}, {coachName} has a free 15-minute slot on {slot} to help you get unstuck. Reply YES to take it, or tell us what would help.";
    public const string SlotNone = "Hi {firstName}, {coachName} has seen your update and will be in touch before {nextSession}.";

    public static string Subject(TouchKind kind, ClientLoopState s) => kind switch
    {
        TouchKind.Prep => $"Before our call on {NextSessionText(s)}",
        TouchKind.ProgressCheck => "How did this week go?",
        _ => "A quick check-in",
    };

    public static string Render(string template, ClientLoopState s, IReadOnlyDictionary<string, string>? extra = null)
    {
        var items = s.CurrentSession?.Items ?? [];
        var commitments = items.Select(i => Text.MidSentence(i.What)).ToList();
        var notices = items.Where(i => !string.IsNullOrWhiteSpace(i.Notice)).Select(i => Text.MidSentence(i.Notice!)).ToList();
        var values = new Dictionary<string, string>
        {
            ["firstName"] = Text.FirstName(s.Profile.Name),
            ["commitments"] = commitments.Count > 0 ? Text.JoinNatural(commitments) : "your actions",
            ["firstCommitment"] = commitments.Count > 0 ? commitments[0] : "your actions",
            ["notice"] = notices.Count > 0 ? " (" + Text.JoinNatural(notices) + ")" : "",
            ["nextSession"] = NextSessionText(s),
            ["coachName"] = s.CoachName,
        };
        if (extra is not null) foreach (var (k, v) in extra) values[k] = v;
        var result = template;
        foreach (var (k, v) in values) result = result.Replace("{" + k + "}", v, StringComparison.Ordinal);
        return result;
    }

    public static string NextSessionText(ClientLoopState s) =>
        s.CurrentSession is { } session ? LocalText(session.NextSessionAt, s.Profile.TimeZone) : "our next session";

    /// <summary>"Tue 14:00" in the client's zone.</summary>
    public static string LocalText(DateTimeOffset at, string timeZone)
    {
        var local = Zones.ToLocal(at, Zones.Find(timeZone));
        return local.ToString("ddd HH:mm", System.Globalization.CultureInfo.InvariantCulture);
    }
}
