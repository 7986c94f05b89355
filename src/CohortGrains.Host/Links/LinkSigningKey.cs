using System.Security.Cryptography;
using System.Text;
using CohortGrains.Channels.Links;
using CohortGrains.Host.Infrastructure;
using Microsoft.Extensions.Options;

namespace CohortGrains.Host.Links;

/// <summary>
/// The secret that signs links in emails: Links:SigningKey (base64 of 32+ bytes, or any 32+ characters), else one
/// generated on first start and kept beside the database. A cluster must configure it: each node would otherwise
/// sign with its own key and reject the others' links.
/// </summary>
public sealed class LinkSigningKey
{
    public byte[] Bytes { get; }

    public LinkSigningKey(IOptions<SignedLinkOptions> options, IOptions<StorageOptions> storage, ILogger<LinkSigningKey> logger)
    {
        if (!string.IsNullOrWhiteSpace(options.Value.SigningKey))
        {
            Bytes = Decode(options.Value.SigningKey.Trim())
                ?? throw new InvalidOperationException("Links:SigningKey must be at least 32 bytes (base64) or 32 characters");
            return;
        }
        var path = Path.Combine(storage.Value.DataDirectory, "link-signing-key");
        if (File.Exists(path) && Decode(File.ReadAllText(path).Trim()) is { } stored)
        {
            Bytes = stored;
            return;
        }
        Directory.CreateDirectory(storage.Value.DataDirectory);
        Bytes = RandomNumberGenerator.GetBytes(32);
        File.WriteAllText(path, Convert.ToBase64String(Bytes) + "\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        logger.LogWarning("No Links:SigningKey configured: generated one in {Path}; configure the same key on every node of a cluster", Path.GetFullPath(path));
    }

    private static byte[]? Decode(string value)
    {
        try
        {
            var bytes = Convert.FromBase64String(value);
            if (bytes.Length >= 32) return bytes;
        }
        catch (FormatException)
        {
        }
        return value.Length >= 32 ? Encoding.UTF8.GetBytes(value) : null;
    }
}
