namespace CohortGrains.Host.Sessions;

/// <summary>Spots action items too vague to observe, so the coach can sharpen them while the client is still there.</summary>
public static class ActionItems
{
    private static readonly string[] s_vagueStarts = ["be more", "be less", "try to", "feel", "think about", "work on", "focus on", "be better", "improve"];

    public static string? VaguenessHint(string what)
    {
        var lower = what.Trim().ToLowerInvariant();
        var words = lower.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var vague = s_vagueStarts.Any(lower.StartsWith) || words.Length < 3;
        var hasMeasure = lower.Any(char.IsDigit) || words.Any(w => w is "one" or "two" or "three" or "four" or "five" or "daily" or "each" or "every" or "by");
        return vague && !hasMeasure
            ? $"'{what}' is hard to observe: say what the client will do, how often or by when, and how you'll both know (e.g. 'make two prospecting calls by Thursday')"
            : null;
    }
}
