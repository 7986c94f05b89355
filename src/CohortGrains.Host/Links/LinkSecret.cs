using System.Security.Cryptography;
using System.Text;
using CohortGrains.Channels.Links;
using CohortGrains.Host.Infrastructure;
using Microsoft.Extensions.Options;

namespace CohortGrains.Host.Links;

/// <summary>
/// The one secret behind every signed link: Links:Secret (at least 32 characters), else 256 random bits generated once
/// into &lt;DataDirectory&gt;/link-secret (readable by this user only) and reused on every later start. Nothing signs with
/// it directly: each kind of link derives its own key, HMAC-SHA256(secret, purpose), so a token of one kind can never
/// verify as another. Links:PreviousSecret derives the same keys from the secret before a rotation.
/// </summary>
public sealed class LinkSecret
{
    public const string FileName = "link-secret";

    private readonly byte[] _current;
    private readonly byte[]? _previous;

    public LinkSecret(IOptions<LinksOptions> options, IOptions<StorageOptions> storage, ILogger<LinkSecret> logger)
    {
        var o = options.Value;
        _current = !string.IsNullOrWhiteSpace(o.Secret) ? Parse(o.Secret, "Links:Secret") : LoadOrGenerate(storage.Value.DataDirectory, logger);
        _previous = !string.IsNullOrWhiteSpace(o.PreviousSecret) ? Parse(o.PreviousSecret, "Links:PreviousSecret") : null;
    }

    /// <summary>The keys for one kind of link: derived from the current secret, and from the previous one if configured.</summary>
    public (byte[] Current, byte[]? Previous) KeysFor(string purpose) =>
        (Derive(_current, purpose), _previous is null ? null : Derive(_previous, purpose));

    public static byte[] Derive(byte[] secret, string purpose) => HMACSHA256.HashData(secret, Encoding.UTF8.GetBytes(purpose));

    private static byte[] Parse(string value, string setting) =>
        value.Trim().Length >= 32
            ? Encoding.UTF8.GetBytes(value.Trim())
            : throw new InvalidOperationException($"{setting} must be at least 32 characters (a random secret, e.g. `openssl rand -base64 32`).");

    private static byte[] LoadOrGenerate(string dataDirectory, ILogger logger)
    {
        var path = Path.Combine(dataDirectory, FileName);
        if (File.Exists(path)) return Parse(File.ReadAllText(path), path);
        Directory.CreateDirectory(dataDirectory);
        var secret = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        File.WriteAllText(path, secret + "\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        logger.LogWarning("No Links:Secret configured: generated one and saved it to {Path} (readable by this user only; a cluster must configure one shared secret)",
            Path.GetFullPath(path));
        return Encoding.UTF8.GetBytes(secret);
    }
}
