using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using CohortGrains.Channels;
using CohortGrains.Channels.Links;
using CohortGrains.Host.Links;
using Microsoft.Extensions.Options;

namespace CohortGrains.Host.Infrastructure;

/// <summary>What a valid link says: which client of which org, until when.</summary>
public sealed record LinkClaims(string OrgId, string ClientId, DateTimeOffset ExpiresAt);

/// <summary>
/// Magic links for clients: "cgl_" + base64url("v1|org|client|expiry|nonce") + "." + base64url(HMAC-SHA256).
/// The signature lets a node refuse forged or expired tokens without asking the store; the store keeps each issued
/// link as a hashed key row (role client), which is what makes a link revocable one by one or all at once.
/// The key is derived from Links:Secret for <see cref="KeyPurpose"/> (email links use another purpose); a key derived
/// from Links:PreviousSecret still verifies.
/// </summary>
public sealed class ClientLinks
{
    public const string Prefix = "cgl_";
    public const string PortalPath = "/portal";

    /// <summary>What the key is derived for: HMAC-SHA256(Links:Secret, this).</summary>
    public const string KeyPurpose = "cohortgrains/client-links/v1";

    private const string Version = "v1";

    private readonly byte[] _secret;
    private readonly byte[]? _previous;

    public ClientLinks(IOptions<LinksOptions> options, IOptions<PublicUrlOptions> publicUrl, LinkSecret secret)
    {
        Options = options.Value;
        PortalUrl = publicUrl.Value.Url(PortalPath);
        (_secret, _previous) = secret.KeysFor(KeyPurpose);
    }

    public LinksOptions Options { get; }

    /// <summary>Where a link points: {PublicBaseUrl}/portal. The portal should trade the token for a session at once.</summary>
    public string PortalUrl { get; }

    public string Issue(string orgId, string clientId, DateTimeOffset expiresAt)
    {
        var nonce = Base64Url(RandomNumberGenerator.GetBytes(12));
        var payload = string.Join('|', Version, orgId, clientId, expiresAt.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture), nonce);
        var body = Prefix + Base64Url(Encoding.UTF8.GetBytes(payload));
        return body + "." + Base64Url(Sign(_secret, body));
    }

    public string UrlFor(string token) => PortalUrl + "?token=" + Uri.EscapeDataString(token);

    /// <summary>The claims of a well-formed, correctly signed, unexpired token; null otherwise.</summary>
    public LinkClaims? Verify(string token, DateTimeOffset now)
    {
        var dot = token.LastIndexOf('.');
        if (!token.StartsWith(Prefix, StringComparison.Ordinal) || dot <= Prefix.Length) return null;
        var body = token[..dot];
        if (!TryBase64Url(token[(dot + 1)..], out var signature)) return null;
        if (!Matches(_secret, body, signature) && !(_previous is not null && Matches(_previous, body, signature))) return null;
        if (!TryBase64Url(body[Prefix.Length..], out var payloadBytes)) return null;
        var parts = Encoding.UTF8.GetString(payloadBytes).Split('|');
        if (parts is not [Version, var org, var client, var exp, _]) return null;
        if (!long.TryParse(exp, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)) return null;
        var expiresAt = DateTimeOffset.FromUnixTimeSeconds(seconds);
        return expiresAt > now ? new LinkClaims(org, client, expiresAt) : null;
    }

    private static bool Matches(byte[] secret, string body, byte[] signature) =>
        CryptographicOperations.FixedTimeEquals(Sign(secret, body), signature);

    private static byte[] Sign(byte[] secret, string body) => HMACSHA256.HashData(secret, Encoding.UTF8.GetBytes(body));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static bool TryBase64Url(string text, out byte[] bytes)
    {
        bytes = [];
        if (text.Length is 0 or > 1024 || !text.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_')) return false;
        var padded = text.Replace('-', '+').Replace('_', '/') + new string('=', (4 - text.Length % 4) % 4);
        try
        {
            bytes = Convert.FromBase64String(padded);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }
}
