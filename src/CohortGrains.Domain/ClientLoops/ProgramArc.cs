using System.Collections.Immutable;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using CohortGrains.Domain.Common;

namespace CohortGrains.Domain.ClientLoops;

/// <summary>A client's reflection, tied to the session it reflects on (from the portal, or a reply to the prep email).</summary>
/// <param name="ReplyToTouchId">The touch the client answered by email ("s3-day6"), when it came that way.</param>
public sealed record Reflection(string Id, int Session, string Text, Channel Channel, DateTimeOffset At, string? ReplyToTouchId = null);

[JsonConverter(typeof(JsonStringEnumConverter<FeedbackKind>))]
public enum FeedbackKind { Midpoint, Closing }

public sealed record ArcAnswer(string Key, string Text);

/// <summary>The client's answers to the midpoint check or the closing reflection (the latest submission of each kind).</summary>
public sealed record FeedbackRecord(FeedbackKind Kind, ImmutableList<ArcAnswer> Answers, Channel Channel, DateTimeOffset At);

public sealed record ArcQuestion(string Key, string Text);

/// <summary>
/// The beginning, middle and end of a program around the between-session loop: a welcome carrying the coach's
/// communication norms, the midpoint feedback check halfway through, the closing reflection at the last session.
/// Reminder names: "arc:welcome", "arc:midpoint", "arc:closing"; the touch ids are the bare kinds.
/// </summary>
public static partial class ProgramArc
{
    public const string Welcome = "welcome";
    public const string Midpoint = "midpoint";
    public const string Closing = "closing";
    public const string ReminderPrefix = "arc:";
    public const int MaxAnswerLength = 2000;
    public const int MaxReflectionLength = 4000;

    /// <summary>Halfway through (seeds): while there is still time to adjust.</summary>
    public static readonly ImmutableList<ArcQuestion> MidpointQuestions =
    [
        new("mostUseful", "What has been most useful so far?"),
        new("adjust", "What should we adjust?"),
        new("unclear", "What feels unclear?"),
        new("progress", "What progress are you noticing?"),
        new("focus", "What do you want to focus on for the remaining sessions?"),
    ];

    /// <summary>At the end, so the program does not just run out of calendar.</summary>
    public static readonly ImmutableList<ArcQuestion> ClosingQuestions =
    [
        new("startingChallenge", "When we started, what was the main challenge?"),
        new("different", "What is different now in how you think, decide, or act?"),
        new("learned", "What did you learn about yourself?"),
        new("canDoNow", "What can you now do that was harder before?"),
        new("unfinished", "What remains unfinished?"),
        new("supportNext", "What support do you need next?"),
    ];

    public static ImmutableList<ArcQuestion> Questions(FeedbackKind kind) => kind == FeedbackKind.Midpoint ? MidpointQuestions : ClosingQuestions;

    public static string TouchId(FeedbackKind kind) => kind == FeedbackKind.Midpoint ? Midpoint : Closing;

    public static bool IsArcReminder(string name) => name.StartsWith(ReminderPrefix, StringComparison.Ordinal);

    public static string Body(string kind, ClientLoopState s)
    {
        string Numbered(ImmutableList<ArcQuestion> qs) => string.Join(" ", qs.Select((q, i) => $"{i + 1}) {q.Text}"));
        return kind switch
        {
            Welcome => Templates.Render("Hi {firstName}, welcome to your coaching program with {coachName}. ", s)
                + (s.Norms?.Describe(s.CoachName) ?? "")
                + " Between sessions you will get a few short check-ins about what you agreed; a word or a number is a full answer.",
            Midpoint => Templates.Render("Hi {firstName}, we are halfway through the program. {coachName} would like five quick answers while there is still time to adjust: ", s)
                + Numbered(MidpointQuestions) + " Answer in your portal, or reply to this message.",
            Closing => Templates.Render("Hi {firstName}, as the program closes, {coachName} invites you to look back: ", s)
                + Numbered(ClosingQuestions) + " Your answers become your program summary.",
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind),
        };
    }

    public static string Subject(string kind) => kind switch
    {
        Welcome => "Welcome: how we will work together",
        Midpoint => "Halfway there: five quick questions",
        _ => "Your closing reflection",
    };
}

/// <summary>The text a client wrote in an email reply, without the quoted message below it or a signature.</summary>
public static partial class EmailReply
{
    // "On Tue, 3 Mar 2026 at 09:00, Coach <c@x> wrote:" (Gmail, Apple Mail) and "-----Original Message-----" (Outlook).
    [GeneratedRegex(@"^\s*(On .{0,200}wrote:|-{2,}\s*Original Message\s*-{2,}|From:\s.+|_{10,})\s*$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex QuoteHeader();

    public static string StripQuoted(string body)
    {
        var kept = new List<string>();
        foreach (var line in body.ReplaceLineEndings("\n").Split('\n'))
        {
            if (QuoteHeader().IsMatch(line)) break;
            if (line.TrimStart().StartsWith('>')) continue;
            // "-- " is the standard signature separator: what follows is not the reflection.
            if (line == "-- " || line.Trim() == "--") break;
            kept.Add(line);
        }
        return string.Join("\n", kept).Trim();
    }
}
