using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace CohortGrains.Host.Integrations;

public sealed class WebhookOptions
{
    /// <summary>Allow http:// endpoints (local development and tests only; production receivers use https).</summary>
    public bool AllowInsecureHttp { get; set; }
    /// <summary>Allow endpoints that resolve to loopback or private addresses (tests). Off, an org cannot make us call our own network.</summary>
    public bool AllowPrivateNetworks { get; set; }
    public int TimeoutSeconds { get; set; } = 10;
    /// <summary>How far an inbound event's timestamp may be from our clock: older signed requests are replays.</summary>
    public int InboundToleranceSeconds { get; set; } = 300;
}

/// <summary>
/// HMAC-SHA256 over "{unix seconds}.{raw body}", sent as "v1={hex}" beside the timestamp: the receiver recomputes it with
/// the shared secret and rejects stale timestamps, so a captured request cannot be replayed later (Stripe's scheme).
/// </summary>
public static class Signatures
{
    public const string OrgHeader = "X-CohortGrains-Org";
    public const string TimestampHeader = "X-CohortGrains-Timestamp";
    public const string SignatureHeader = "X-CohortGrains-Signature";
    public const string EventHeader = "X-CohortGrains-Event";
    public const string DeliveryHeader = "X-CohortGrains-Delivery";

    public static string NewSecret() => "whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static string Sign(string secret, long timestamp, ReadOnlySpan<byte> body)
    {
        var prefix = Encoding.UTF8.GetBytes(timestamp.ToString(CultureInfo.InvariantCulture) + ".");
        var payload = new byte[prefix.Length + body.Length];
        prefix.CopyTo(payload, 0);
        body.CopyTo(payload.AsSpan(prefix.Length));
        return "v1=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), payload));
    }

    public static bool Verify(string secret, long timestamp, ReadOnlySpan<byte> body, string? signature) =>
        signature is not null && Matches(Sign(secret, timestamp, body), signature);

    /// <summary>
    /// Reads a request body while signing it, keeping at most <paramref name="maxBytes"/>: whether the signature holds is
    /// known for a body of any size (so a forged request is refused for that, whatever it carries), and a large one costs
    /// a hash rather than memory. <c>Body</c> is null when the body was longer than <paramref name="maxBytes"/>.
    /// </summary>
    public static async Task<(bool Valid, byte[]? Body)> ReadAndVerifyAsync(Stream body, string secret, long timestamp, string? signature, int maxBytes,
        CancellationToken ct)
    {
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, Encoding.UTF8.GetBytes(secret));
        hmac.AppendData(Encoding.UTF8.GetBytes(timestamp.ToString(CultureInfo.InvariantCulture) + "."));
        using var kept = new MemoryStream();
        var buffer = new byte[16 * 1024];
        int read;
        while ((read = await body.ReadAsync(buffer, ct)) > 0)
        {
            hmac.AppendData(buffer, 0, read);
            if (kept.Length <= maxBytes) kept.Write(buffer, 0, (int)Math.Min(read, maxBytes + 1 - kept.Length));
        }
        var valid = signature is not null && Matches("v1=" + Convert.ToHexStringLower(hmac.GetHashAndReset()), signature);
        return (valid, kept.Length > maxBytes ? null : kept.ToArray());
    }

    private static bool Matches(string expected, string signature) =>
        CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(signature.Trim()));
}

/// <summary>Who a webhook may call: public addresses only, unless the node is configured for tests or a private network.</summary>
public static class EndpointAddresses
{
    public static bool IsPublic(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        if (IPAddress.IsLoopback(address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any)) return false;
        if (address.AddressFamily == AddressFamily.InterNetworkV6)
            return !(address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6Multicast || (address.GetAddressBytes()[0] & 0xFE) == 0xFC);
        var b = address.GetAddressBytes();
        return !(b[0] == 10 || b[0] == 0 || b[0] >= 224 // private, "this network", multicast and reserved
            || (b[0] == 172 && b[1] >= 16 && b[1] <= 31) || (b[0] == 192 && b[1] == 168)
            || (b[0] == 169 && b[1] == 254) // link-local, including cloud metadata at 169.254.169.254
            || (b[0] == 100 && b[1] >= 64 && b[1] <= 127)); // carrier-grade NAT
    }
}

/// <summary>The endpoint resolved only to addresses we may not call: retrying will not help.</summary>
public sealed class BlockedAddressException(string host) : IOException($"'{host}' resolves to no public address (loopback and private networks are not allowed)");
