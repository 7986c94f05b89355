namespace CohortGrains.Channels.Links;

/// <summary>Configuration section "Links": the signed links in emails (one-tap ratings, unsubscribe).</summary>
public sealed class SignedLinkOptions
{
    public const string Section = "Links";

    /// <summary>
    /// At least 32 bytes of secret (any string of 32+ characters, or base64). Every node of a cluster needs the same
    /// one. When empty, a node generates one and keeps it in its data directory (fine for one node).
    /// </summary>
    public string? SigningKey { get; set; }
    /// <summary>How long a one-tap rating link works: longer than a session cycle, short enough that an old email cannot rate a new week.</summary>
    public TimeSpan RatingLifetime { get; set; } = TimeSpan.FromDays(14);
    /// <summary>Unsubscribe links must keep working for as long as people keep old emails.</summary>
    public TimeSpan UnsubscribeLifetime { get; set; } = TimeSpan.FromDays(365);
}
