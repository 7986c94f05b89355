using System.Globalization;
using System.Text.RegularExpressions;

namespace CohortGrains.Domain.ClientLoops;

/// <summary>What a free-text check-in reply says: "4", "2 stuck on pricing", "five", "⭐⭐⭐", "4️⃣ good week".</summary>
public sealed record ParsedReply(int? Rating, bool SaysStuck, string? Remark);

public static partial class ReplyParser
{
    private static readonly string[] s_numberWords = ["one", "two", "three", "four", "five"];

    // Words that mean the client is stuck. Matched as whole words/phrases, case-insensitive.
    private static readonly string[] s_stuckPhrases =
    [
        "stuck", "blocked", "help", "no time", "not started", "haven't started", "havent started", "didn't start",
        "can't", "cant", "cannot", "struggling", "overwhelmed", "gave up", "give up", "behind", "lost", "not going well",
    ];

    // "not stuck", "no longer blocked", "unstuck" are the opposite.
    [GeneratedRegex(@"\b(not|no longer|never|un)\s*(stuck|blocked)\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex NegatedStuck();

    // "Can't wait to show you" is the opposite of stuck; "can't" alone still counts.
    [GeneratedRegex(@"\b(can't|cant|cannot)\s+(wait\s+(to|for|till|until)|complain|believe)\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex HappyCant();

    // Not followed by another digit ("10"), a letter ("5th call") or a keycap mark ("4️⃣" is read as an emoji below).
    [GeneratedRegex(@"^\s*(?<n>[1-5])(\s*(/|of|out of)\s*5)?(?![0-9\p{L}\uFE0F\u20E3])[\s,.:;!\-–—]*(?<rest>.*)$", RegexOptions.Singleline | RegexOptions.CultureInvariant)]
    private static partial Regex LeadingDigit();

    [GeneratedRegex(@"^\s*(?<w>one|two|three|four|five)\b[\s,.:;!\-–—]*(?<rest>.*)$", RegexOptions.IgnoreCase | RegexOptions.Singleline | RegexOptions.CultureInvariant)]
    private static partial Regex LeadingWord();

    public static ParsedReply Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return new ParsedReply(null, false, null);
        var s = text.Trim().Normalize(System.Text.NormalizationForm.FormC);
        int? rating = null;
        var rest = s;

        if (LeadingDigit().Match(s) is { Success: true } d)
        {
            rating = d.Groups["n"].Value[0] - '0';
            rest = d.Groups["rest"].Value;
        }
        else if (LeadingWord().Match(s) is { Success: true } w)
        {
            rating = Array.IndexOf(s_numberWords, w.Groups["w"].Value.ToLowerInvariant()) + 1;
            rest = w.Groups["rest"].Value;
        }
        else if (EmojiRating(s, out var emojiRating, out var afterEmoji))
        {
            rating = emojiRating;
            rest = afterEmoji;
        }

        var remark = rest.Trim();
        return new ParsedReply(rating, SaysStuck(s), remark.Length == 0 ? null : remark);
    }

    public static bool SaysStuck(string text)
    {
        var lower = HappyCant().Replace(NegatedStuck().Replace(text.ToLowerInvariant().Replace('’', '\''), " "), " ");
        foreach (var phrase in s_stuckPhrases)
        {
            var at = 0;
            while ((at = lower.IndexOf(phrase, at, StringComparison.Ordinal)) >= 0)
            {
                var before = at == 0 || !char.IsLetter(lower[at - 1]);
                var end = at + phrase.Length;
                var after = end >= lower.Length || !char.IsLetter(lower[end]);
                if (before && after) return true;
                at = end;
            }
        }
        return false;
    }

    /// <summary>Keycap digits (4️⃣), a run of stars (⭐⭐⭐), or a single face at the start of the reply.</summary>
    private static bool EmojiRating(string s, out int rating, out string rest)
    {
        rating = 0;
        rest = s;
        var e = StringInfo.GetTextElementEnumerator(s);
        var stars = 0;
        var consumed = 0;
        while (e.MoveNext())
        {
            var el = (string)e.Current;
            // Compare without the emoji presentation selector or a skin tone: "⭐️" is "⭐", "👍🏽" is "👍".
            var bare = Bare(el);
            if (bare is "⭐" or "★" or "🌟") { stars++; consumed = e.ElementIndex + el.Length; continue; }
            if (stars > 0) break;
            if (el.Length >= 2 && el[0] is >= '1' and <= '5' && el.Contains('\u20E3'))
            {
                rating = el[0] - '0';
                rest = s[(e.ElementIndex + el.Length)..];
                return true;
            }
            var face = FaceRating(bare);
            if (face > 0)
            {
                rating = face;
                rest = s[(e.ElementIndex + el.Length)..];
                return true;
            }
            if (!string.IsNullOrWhiteSpace(el)) return false;
        }
        if (stars is >= 1 and <= 5)
        {
            rating = stars;
            rest = s[consumed..];
            return true;
        }
        return false;
    }

    private static string Bare(string el)
    {
        var s = el.Replace("\uFE0F", "", StringComparison.Ordinal);
        // Skin tone modifiers U+1F3FB–U+1F3FF (surrogates D83C DFFB–DFFF).
        for (var i = s.Length - 2; i >= 0; i--)
            if (s[i] == '\uD83C' && s[i + 1] is >= '\uDFFB' and <= '\uDFFF') s = s.Remove(i, 2);
        return s;
    }

    private static int FaceRating(string el) => el switch
    {
        "😫" or "😩" or "😞" or "😢" or "😭" or "👎" => 1,
        "😕" or "🙁" or "☹" or "😟" => 2,
        "😐" or "😶" => 3,
        "🙂" or "😊" or "👍" => 4,
        "😀" or "😃" or "😄" or "🤩" or "🎉" or "💪" or "🔥" => 5,
        _ => 0,
    };
}
