using CohortGrains.Domain.ClientLoops;
using CohortGrains.Runtime.Storage;

namespace CohortGrains.Host.Webhooks;

public enum SmsKeyword { None, OptOut, OptIn, Yes, Help }

/// <summary>A client whose phone matches an inbound SMS, with its current state.</summary>
public sealed record InboundCandidate(GrainId Id, ClientLoopState State, DateTimeOffset UpdatedAt);

/// <param name="PromptId">The prompt the reply answers (the client's open prompt when it arrived), pinned so a prompt sent a moment later cannot take it.</param>
/// <param name="Others">The other clients sharing the phone (logged, never silently ignored).</param>
public sealed record Attribution(InboundCandidate Client, string? PromptId, IReadOnlyList<InboundCandidate> Others);

/// <summary>How an inbound SMS is read: carrier keywords first, then which client and which prompt it answers.</summary>
public static class InboundSms
{
    // Twilio's default keywords for long codes (and the industry's): one word, any case, surrounding blanks ignored.
    private static readonly HashSet<string> s_optOut = new(["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"], StringComparer.OrdinalIgnoreCase);
    private static readonly HashSet<string> s_optIn = new(["START", "UNSTOP"], StringComparer.OrdinalIgnoreCase);
    private static readonly HashSet<string> s_help = new(["HELP", "INFO"], StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// The keyword an SMS body is, if any. "Stop texting me" is not STOP (Twilio does not block on it either, and we
    /// must agree with what the carrier did). Twilio's Advanced Opt-Out sends OptOutType when it matched a custom
    /// keyword; that wins. "YES" is special: it is also the answer our slot offers ask for (see <see cref="SmsKeyword.Yes"/>).
    /// </summary>
    public static SmsKeyword Classify(string? body, string? optOutType = null)
    {
        switch (optOutType?.Trim().ToUpperInvariant())
        {
            case "STOP": return SmsKeyword.OptOut;
            case "START": return SmsKeyword.OptIn;
            case "HELP": return SmsKeyword.Help;
        }
        var word = body?.Trim() ?? "";
        if (word.Length == 0 || word.Any(char.IsWhiteSpace)) return SmsKeyword.None;
        if (s_optOut.Contains(word)) return SmsKeyword.OptOut;
        if (s_optIn.Contains(word)) return SmsKeyword.OptIn;
        if (s_help.Contains(word)) return SmsKeyword.Help;
        return string.Equals(word, "YES", StringComparison.OrdinalIgnoreCase) ? SmsKeyword.Yes : SmsKeyword.None;
    }

    /// <summary>
    /// The client an SMS reply belongs to when several clients share the phone (a couple, a parent and child, a client in
    /// two programs): clients still in a program before finished ones; then the most recent open prompt (the question
    /// the phone was asked last is the one being answered); then the most recent SMS we sent; then the most recently
    /// changed. Null when no one matches. The caller logs every ambiguous case.
    /// </summary>
    public static Attribution? Attribute(IReadOnlyList<InboundCandidate> candidates)
    {
        if (candidates.Count == 0) return null;
        var active = candidates.Where(c => c.State.Status != ClientStatus.Done).ToList();
        var pool = active.Count > 0 ? active : candidates.ToList();
        var ranked = pool
            .Select(c => (Candidate: c, Open: OpenPrompt(c.State)))
            .OrderByDescending(x => x.Open?.At)
            .ThenByDescending(x => x.Candidate.State.Touches.LastOrDefault(t => t.Channel == Domain.Common.Channel.Sms && t.SkippedBecause is null)?.At)
            .ThenByDescending(x => x.Candidate.UpdatedAt)
            .ThenBy(x => x.Candidate.Id.ToString(), StringComparer.Ordinal)
            .ToList();
        var chosen = ranked[0];
        return new Attribution(chosen.Candidate, chosen.Open?.Id, candidates.Where(c => c != chosen.Candidate).ToList());
    }

    private sealed record Prompt(string Id, DateTimeOffset At);

    private static Prompt? OpenPrompt(ClientLoopState s) =>
        s.OpenPromptId is { } id && s.Touches.FirstOrDefault(t => t.Id == id) is { } touch ? new Prompt(id, touch.At) : null;

    /// <summary>Phone numbers are personal data: logs keep the last four digits.</summary>
    public static string Mask(string? phone) => phone is { Length: > 4 } p ? "…" + p[^4..] : "…";
}
