using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using CohortGrains.Runtime.Storage;

namespace CohortGrains.Channels.Links;

/// <summary>What a link may do. Part of the signed data, so a rating link can never unsubscribe and vice versa.</summary>
public enum LinkPurpose { Rate, Unsubscribe }

/// <summary>A verified link: whose it is, what it does, until when.</summary>
public sealed record LinkClaims(LinkPurpose Purpose, string OrgId, string ClientId, string? PromptId, int? Rating, DateTimeOffset ExpiresAt);

public enum LinkCheck { Valid, Malformed, BadSignature, Expired }

/// <summary>
/// Links in emails that act without a login: "rate prompt P of client C as 4" and "unsubscribe client C from email".
/// A token is base64url(payload) "." base64url(HMAC-SHA256(key, payload)[..16]); the payload names the purpose,
/// the org, the client, the prompt and rating (for ratings) and the expiry. Nothing is stored: the signature is the proof.
/// The key is derived from Links:Secret for <see cref="KeyPurpose"/>; a key derived from Links:PreviousSecret still verifies.
/// </summary>
public sealed class SignedLinks
{
    /// <summary>What the key is derived for: HMAC-SHA256(Links:Secret, this). Client links use another purpose.</summary>
    public const string KeyPurpose = "cohortgrains/email-links/v1";

    private const string Version = "v1";
    private const int MacBytes = 16; // 128 bits: unforgeable, and the URL stays short enough for mail clients
    private readonly byte[] _key;
    private readonly byte[]? _previousKey;

    public SignedLinks(byte[] key, byte[]? previousKey = null)
    {
        if (key.Length < 32) throw new ArgumentException("The link signing key needs at least 32 bytes.", nameof(key));
        if (previousKey is { Length: < 32 }) throw new ArgumentException("The previous link signing key needs at least 32 bytes.", nameof(previousKey));
        _key = key;
        _previousKey = previousKey;
    }

    public string Rating(GrainId client, string promptId, int rating, DateTimeOffset expiresAt)
    {
        if (rating is < 1 or > 5) throw new ArgumentOutOfRangeException(nameof(rating));
        return Create(new LinkClaims(LinkPurpose.Rate, client.OrgId, client.Key, promptId, rating, expiresAt));
    }

    public string Unsubscribe(GrainId client, DateTimeOffset expiresAt) =>
        Create(new LinkClaims(LinkPurpose.Unsubscribe, client.OrgId, client.Key, null, null, expiresAt));

    private string Create(LinkClaims c)
    {
        string[] fields = [Version, c.Purpose.ToString().ToLowerInvariant(), c.OrgId, c.ClientId, c.PromptId ?? "",
            c.Rating?.ToString(CultureInfo.InvariantCulture) ?? "", c.ExpiresAt.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)];
        if (fields.Any(f => f.Contains('\n'))) throw new ArgumentException("Link fields cannot contain line breaks.");
        var payload = Encoding.UTF8.GetBytes(string.Join('\n', fields));
        return Base64Url(payload) + "." + Base64Url(Mac(_key, payload));
    }

    /// <summary>Checks the signature (constant time) before reading anything, then the purpose and the expiry.</summary>
    public LinkCheck Check(string? token, LinkPurpose purpose, DateTimeOffset now, out LinkClaims? claims)
    {
        claims = null;
        if (string.IsNullOrEmpty(token) || token.Length > 1024) return LinkCheck.Malformed;
        var dot = token.IndexOf('.');
        if (dot <= 0 || !TryBase64Url(token[..dot], out var payload) || !TryBase64Url(token[(dot + 1)..], out var mac))
            return LinkCheck.Malformed;
        if (!CryptographicOperations.FixedTimeEquals(Mac(_key, payload), mac) &&
            !(_previousKey is not null && CryptographicOperations.FixedTimeEquals(Mac(_previousKey, payload), mac)))
            return LinkCheck.BadSignature;

        var f = Encoding.UTF8.GetString(payload).Split('\n');
        if (f.Length != 7 || f[0] != Version || !Enum.TryParse<LinkPurpose>(f[1], ignoreCase: true, out var p) ||
            !long.TryParse(f[6], NumberStyles.None, CultureInfo.InvariantCulture, out var expires))
            return LinkCheck.Malformed;
        int? rating = int.TryParse(f[5], NumberStyles.None, CultureInfo.InvariantCulture, out var r) ? r : null;
        var read = new LinkClaims(p, f[2], f[3], f[4].Length == 0 ? null : f[4], rating, DateTimeOffset.FromUnixTimeSeconds(expires));
        // A genuine token of another purpose is as useless here as a forged one.
        if (read.Purpose != purpose) return LinkCheck.BadSignature;
        if (purpose == LinkPurpose.Rate && (read.PromptId is null || read.Rating is not (>= 1 and <= 5))) return LinkCheck.Malformed;
        if (now >= read.ExpiresAt) return LinkCheck.Expired;
        claims = read;
        return LinkCheck.Valid;
    }

    private static byte[] Mac(byte[] key, byte[] payload) => HMACSHA256.HashData(key, payload)[..MacBytes];

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static bool TryBase64Url(string s, out byte[] bytes)
    {
        bytes = [];
        if (s.Length == 0 || s.Any(ch => !(char.IsAsciiLetterOrDigit(ch) || ch is '-' or '_'))) return false;
        var b64 = s.Replace('-', '+').Replace('_', '/');
        b64 += (b64.Length % 4) switch { 2 => "==", 3 => "=", 0 => "", _ => "!" };
        try
        {
            bytes = Convert.FromBase64String(b64);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }
}
