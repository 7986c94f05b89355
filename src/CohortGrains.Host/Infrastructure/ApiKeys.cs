using System.Security.Cryptography;
using System.Text;

namespace CohortGrains.Host.Infrastructure;

/// <summary>
/// API keys: 256 random bits, shown once, stored as SHA-256 (a high-entropy secret needs no slow hash),
/// prefixed "cg_" so they are recognisable in configs and secret scanners.
/// </summary>
public static class ApiKeys
{
    public const string Prefix = "cg_";

    public static (string Key, string Hash, string DisplayPrefix) Generate()
    {
        var key = Prefix + Base64Url(RandomNumberGenerator.GetBytes(32));
        return (key, Hash(key), key[..10]);
    }

    public static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    public static bool FixedTimeEquals(string a, string b) =>
        CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(Hash(a)), Encoding.UTF8.GetBytes(Hash(b)));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

/// <summary>Short random ids with a readable type prefix: cli_7k2m9q4x1d.</summary>
public static class Ids
{
    private const string Alphabet = "0123456789abcdefghjkmnpqrstvwxyz"; // Crockford base32, lower case

    public static string New(string prefix)
    {
        Span<byte> bytes = stackalloc byte[12];
        RandomNumberGenerator.Fill(bytes);
        var chars = new char[12];
        for (var i = 0; i < chars.Length; i++) chars[i] = Alphabet[bytes[i] & 31];
        return $"{prefix}_{new string(chars)}";
    }

    /// <summary>Ids in paths are ours: short, printable; anything else is simply not found.</summary>
    public static bool LooksValid(string? id) =>
        id is { Length: > 0 and <= 64 } && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-');
}
