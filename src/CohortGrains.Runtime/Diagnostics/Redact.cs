using System.Text.RegularExpressions;

namespace CohortGrains.Runtime.Diagnostics;

/// <summary>
/// Masks personal data and secrets before they reach a log line. Use it wherever a recipient, a provider's error
/// text or anything a client typed could be logged: phone numbers keep their first two and last two characters
/// (enough to tell two numbers apart when debugging), emails their first letters and top-level domain, and keys or
/// tokens nothing at all. Grain ids are ours and safe to log as they are.
/// </summary>
public static partial class Redact
{
    public const string Hidden = "***";

    /// <summary>"+14155550101" → "+1********01".</summary>
    public static string Phone(string? phone)
    {
        if (string.IsNullOrEmpty(phone)) return "";
        var p = phone.Trim();
        if (p.Length <= 4) return new string('*', p.Length);
        return string.Concat(p.AsSpan(0, 2), new string('*', p.Length - 4), p.AsSpan(p.Length - 2));
    }

    /// <summary>"ava.brooks@example.com" → "a***@e***.com".</summary>
    public static string Email(string? email)
    {
        if (string.IsNullOrEmpty(email)) return "";
        var at = email.LastIndexOf('@');
        if (at <= 0 || at == email.Length - 1) return Hidden;
        var domain = email[(at + 1)..];
        var dot = domain.LastIndexOf('.');
        var tld = dot > 0 ? domain[dot..] : "";
        return $"{email[0]}{Hidden}@{domain[0]}{Hidden}{tld}";
    }

    /// <summary>A recipient of any channel: an email, a phone number, or something else (masked whole but its first letter).</summary>
    public static string Recipient(string? recipient) => recipient switch
    {
        null or "" => "",
        _ when recipient.Contains('@') => Email(recipient),
        _ when recipient.TrimStart().StartsWith('+') || recipient.Count(char.IsAsciiDigit) >= 7 => Phone(recipient),
        _ => recipient[0] + Hidden,
    };

    /// <summary>
    /// Scrubs free text (a provider's error message, an exception message): emails, phone numbers, bearer tokens,
    /// our API keys and credentials in URLs are replaced; everything else is kept so the line still says what went wrong.
    /// </summary>
    public static string Text(string? text)
    {
        if (string.IsNullOrEmpty(text)) return "";
        var result = UrlCredentials().Replace(text, "://" + Hidden + "@");
        result = BearerToken().Replace(result, m => m.Groups[1].Value + Hidden);
        result = SecretAssignment().Replace(result, m => m.Groups[1].Value + Hidden);
        result = ApiKey().Replace(result, "cg_" + Hidden);
        result = EmailAddress().Replace(result, m => Email(m.Value));
        result = E164().Replace(result, m => Phone(m.Value));
        result = LongDigitRun().Replace(result, m => Phone(m.Value));
        return result;
    }

    [GeneratedRegex(@"://[^/\s:@]+:[^/\s@]+@")]
    private static partial Regex UrlCredentials();

    [GeneratedRegex(@"\b((?:Bearer|Basic)\s+)[A-Za-z0-9\-._~+/=]+", RegexOptions.IgnoreCase)]
    private static partial Regex BearerToken();

    // key=value / "token": "value" pairs whose name says they are secret.
    [GeneratedRegex(@"((?:api[_-]?key|auth[_-]?token|token|password|secret)[""']?\s*[:=]\s*[""']?)[^\s""',;&]+", RegexOptions.IgnoreCase)]
    private static partial Regex SecretAssignment();

    [GeneratedRegex(@"\bcg_[A-Za-z0-9\-_]{8,}")]
    private static partial Regex ApiKey();

    [GeneratedRegex(@"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")]
    private static partial Regex EmailAddress();

    // E.164 as we store it, or as providers print it with separators: "+1 (415) 555-0101".
    [GeneratedRegex(@"\+\d[\d\s().\-]{6,18}\d")]
    private static partial Regex E164();

    // A national number without the plus ("4155550101"); shorter runs (years, ids, error codes like 21610) stay.
    [GeneratedRegex(@"(?<![\d\w])\d{9,15}(?![\d\w])")]
    private static partial Regex LongDigitRun();
}
