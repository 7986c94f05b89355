namespace CohortGrains.Domain.Common;

public static class Text
{
    /// <summary>"a", "a and b", "a, b and c" — how people list commitments in a sentence.</summary>
    public static string JoinNatural(IReadOnlyList<string> parts) => parts.Count switch
    {
        0 => "",
        1 => parts[0],
        _ => string.Join(", ", parts.Take(parts.Count - 1)) + " and " + parts[^1],
    };

    /// <summary>Lower-cases the first letter so a commitment reads naturally mid-sentence ("Make two calls" → "make two calls").</summary>
    /// <remarks>Keeps acronyms ("CRM cleanup") and the pronoun "I" ("I will call Priya").</remarks>
    public static string MidSentence(string s) =>
        s.Length > 1 && char.IsUpper(s[0]) && !char.IsUpper(s[1]) && !(s[0] == 'I' && !char.IsLetter(s[1]))
            ? char.ToLowerInvariant(s[0]) + s[1..]
            : s;

    public static string FirstName(string name)
    {
        var trimmed = name.Trim();
        var space = trimmed.IndexOf(' ');
        return space > 0 ? trimmed[..space] : trimmed;
    }

    public static string Quote(string s, int max = 60)
    {
        if (s.Length <= max) return "'" + s + "'";
        // Cut between text elements: half an emoji is invalid UTF-16 and does not survive JSON or SMS.
        var cut = 0;
        var e = System.Globalization.StringInfo.GetTextElementEnumerator(s);
        while (e.MoveNext())
        {
            var end = e.ElementIndex + ((string)e.Current).Length;
            if (end > max - 1) break;
            cut = end;
        }
        return "'" + s[..cut].TrimEnd() + "…'";
    }
}
