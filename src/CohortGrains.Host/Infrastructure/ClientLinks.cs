using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace CohortGrains.Host.Infrastructure;

public sealed class LinkOptions
{
    /// <summary>
    /// Signs client links (HMAC-SHA256), at least 32 characters. When empty, 256 random bits are generated once into
    /// &lt;DataDirectory&gt;/link-secret. Nodes of a cluster must all be configured with the same value.
    /// </summary>
    public string? Secret { get; set; }

    /// <summary>The secret before the last rotation: links it signed keep working until they expire.</summary>
    public string? PreviousSecret { get; set; }

    /// <summary>Where a link points; the token is appended as ?token=…. The portal should trade it for a session at once.</summary>
    public string PortalUrl { get; set; } = "http://127.0.0.1:5080/portal";

    public int DefaultLifetimeHours { get; set; } = 7 * 24;
    public int MaxLifetimeHours { get; set; } = 30 * 24;
}

/// <summary>What a valid link says: which client of which org, until when.</summary>
public sealed record LinkClaims(string OrgId, string ClientId, DateTimeOffset ExpiresAt);

/// <summary>
/// Magic links for clients: "cgl_" + base64url("v1|org|client|expiry|nonce") + "." + base64url(HMAC-SHA256).
/// The signature lets a node refuse forged or expired tokens without asking the store; the store keeps each issued
/// link as a hashed key row (role client), which is what makes a link revocable one by one or all at once.
/// </summary>
public sealed class ClientLinks
{
    public const string Prefix = "cgl_";
    private const string Version = "v1";

    private readonly byte[] _secret;
    private readonly byte[]? _previous;

    public ClientLinks(IOptions<LinkOptions> options, IOptions<StorageOptions> storage, ILogger<ClientLinks> logger)
    {
        Options = options.Value;
        _secret = Options.Secret is { Length: > 0 } configured ? Key(configured, "Links:Secret") : LoadOrGenerate(storage.Value.DataDirectory, logger);
        _previous = Options.PreviousSecret is { Length: > 0 } previous ? Key(previous, "Links:PreviousSecret") : null;
    }

    public LinkOptions Options { get; }

    public string Issue(string orgId, string clientId, DateTimeOffset expiresAt)
    {
        var nonce = Base64Url(RandomNumberGenerator.GetBytes(12));
        var payload = string.Join('|', Version, orgId, clientId, expiresAt.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture), nonce);
        var body = Prefix + Base64Url(Encoding.UTF8.GetBytes(payload));
        return body + "." + Base64Url(Sign(_secret, body));
    }

    public string UrlFor(string token) => Options.PortalUrl + (Options.PortalUrl.Contains('?') ? "&" : "?") + "token=" + Uri.EscapeDataString(token);

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

    private static byte[] Key(string value, string setting) =>
        value.Trim().Length >= 32
            ? Encoding.UTF8.GetBytes(value.Trim())
            : throw new InvalidOperationException($"{setting} must be at least 32 characters (a random secret, e.g. `openssl rand -base64 32`).");

    private static byte[] LoadOrGenerate(string dataDirectory, ILogger logger)
    {
        var path = Path.Combine(dataDirectory, "link-secret");
        if (File.Exists(path)) return Key(File.ReadAllText(path), path);
        Directory.CreateDirectory(dataDirectory);
        var secret = Base64Url(RandomNumberGenerator.GetBytes(32));
        File.WriteAllText(path, secret + "\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        logger.LogWarning("No Links:Secret configured: generated one and saved it to {Path} (readable by this user only; a cluster must configure one shared secret)",
            Path.GetFullPath(path));
        return Encoding.UTF8.GetBytes(secret);
    }

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
