using CohortGrains.Domain.Common;
using CohortGrains.Domain.Programs;

namespace CohortGrains.Domain.ClientLoops;

/// <summary>
/// One touch that asks the client for something, and whether (and when, and how) it was answered: the unit of the
/// per-template reply rates. Projected from the state on every turn into a table the analytics aggregate in SQL.
/// </summary>
/// <param name="Template">The touchpoint key ("day5") or the arc message ("midpoint", "closing").</param>
/// <param name="Kind">"nudge", "progress-check", "prep", "midpoint" or "closing".</param>
public sealed record TouchFact(string TouchId, string Template, int TemplateVersion, string Kind, Channel Channel, DateTimeOffset SentAt,
    DateTimeOffset? RepliedAt, int? Rating);

public static class PromptAnalytics
{
    /// <summary>Below this reply rate a template is flagged (PRODUCT.md: under 30% is weak).</summary>
    public const double WeakReplyRate = 0.30;

    /// <summary>Fewer prompts than this say nothing about a template: no flag on one unanswered text.</summary>
    public const int MinSample = 5;

    public static readonly TimeSpan Window = TimeSpan.FromDays(28);

    /// <summary>Prompts younger than this have not had their chance to be answered yet; the flag leaves them out.</summary>
    public static readonly TimeSpan AnswerGrace = TimeSpan.FromHours(24);

    public static string ToWire(TouchKind kind) => kind switch
    {
        TouchKind.Nudge => "nudge",
        TouchKind.ProgressCheck => "progress-check",
        _ => "prep",
    };

    /// <summary>
    /// The answerable touches sent to this client: check-in prompts (answered by a reply to that prompt; the first
    /// rating given counts), prep emails (answered by a reflection replying to them), midpoint and closing (answered
    /// by the feedback). Welcome and slot offers ask nothing and are left out, as are touches the cap skipped.
    /// </summary>
    public static IReadOnlyList<TouchFact> Facts(ClientLoopState s)
    {
        var facts = new List<TouchFact>();
        foreach (var t in s.Touches)
        {
            if (t.SkippedBecause is not null) continue;
            var version = t.TemplateVersion ?? 1;
            if (t.TouchpointKey is ProgramArc.Midpoint or ProgramArc.Closing)
            {
                var kind = t.TouchpointKey == ProgramArc.Midpoint ? FeedbackKind.Midpoint : FeedbackKind.Closing;
                var answered = s.Feedback.FirstOrDefault(f => f.Kind == kind && f.At >= t.At)?.At;
                facts.Add(new TouchFact(t.Id, t.TouchpointKey, version, t.TouchpointKey, t.Channel, t.At, answered, null));
                continue;
            }
            var touchpoint = s.Program.Cadence.FirstOrDefault(c => c.Key == t.TouchpointKey);
            if (t.IsPrompt)
            {
                var replies = s.Replies.Where(r => r.PromptId == t.Id).ToList();
                facts.Add(new TouchFact(t.Id, t.TouchpointKey, version, touchpoint is null ? "prompt" : ToWire(touchpoint.Kind), t.Channel, t.At,
                    replies.FirstOrDefault()?.At, replies.FirstOrDefault(r => r.Rating is not null)?.Rating));
            }
            else if (touchpoint?.Kind == TouchKind.Prep)
            {
                facts.Add(new TouchFact(t.Id, t.TouchpointKey, version, "prep", t.Channel, t.At,
                    s.Reflections.FirstOrDefault(r => r.ReplyToTouchId == t.Id)?.At, null));
            }
        }
        return facts;
    }
}
