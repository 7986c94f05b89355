using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Primitives;

namespace CohortGrains.Channels.Twilio;

/// <summary>
/// X-Twilio-Signature: Base64(HMAC-SHA1(auth token, full URL + every POST parameter sorted by name, name then value)).
/// Values of a repeated name are sorted too, as Twilio's own validators do.
/// </summary>
public static class TwilioSignature
{
    public const string Header = "X-Twilio-Signature";

    public static string Compute(string authToken, string url, IEnumerable<KeyValuePair<string, StringValues>> parameters)
    {
        var data = new StringBuilder(url);
        foreach (var (name, values) in parameters.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            foreach (var value in values.Select(v => v ?? "").Distinct().Order(StringComparer.Ordinal))
                data.Append(name).Append(value);
        }
        using var hmac = new HMACSHA1(Encoding.UTF8.GetBytes(authToken));
        return Convert.ToBase64String(hmac.ComputeHash(Encoding.UTF8.GetBytes(data.ToString())));
    }

    /// <summary>
    /// True when <paramref name="signature"/> matches the URL as given or with its default port added or removed
    /// (Twilio signs the URL as configured, and proxies disagree on whether ":443" is part of it). Constant time per candidate.
    /// </summary>
    public static bool IsValid(string? authToken, string url, IEnumerable<KeyValuePair<string, StringValues>> parameters, string? signature)
    {
        if (string.IsNullOrEmpty(authToken) || string.IsNullOrEmpty(signature)) return false;
        var given = Encoding.ASCII.GetBytes(signature.Trim());
        var valid = false;
        var materialized = parameters.ToList();
        foreach (var candidate in UrlVariants(url))
        {
            var expected = Encoding.ASCII.GetBytes(Compute(authToken, candidate, materialized));
            // No early exit: every candidate is checked so the timing says nothing about which one matched.
            valid |= CryptographicOperations.FixedTimeEquals(expected, given);
        }
        return valid;
    }

    /// <summary>The URL itself, and the same URL with its scheme's default port toggled (":443" for https, ":80" for http).</summary>
    public static IEnumerable<string> UrlVariants(string url)
    {
        yield return url;
        var schemeEnd = url.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd < 0) yield break;
        var scheme = url[..schemeEnd].ToLowerInvariant();
        var defaultPort = scheme switch { "https" => "443", "http" => "80", _ => null };
        if (defaultPort is null) yield break;
        var hostStart = schemeEnd + 3;
        var hostEnd = url.IndexOfAny(['/', '?', '#'], hostStart);
        if (hostEnd < 0) hostEnd = url.Length;
        var authority = url[hostStart..hostEnd];
        // The port separator is the last ':' after any IPv6 bracket.
        var colon = authority.LastIndexOf(':');
        if (colon > authority.LastIndexOf(']'))
        {
            if (authority[(colon + 1)..] == defaultPort) yield return url[..hostStart] + authority[..colon] + url[hostEnd..];
        }
        else
        {
            yield return url[..hostStart] + authority + ":" + defaultPort + url[hostEnd..];
        }
    }
}
