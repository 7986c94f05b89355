namespace CohortGrains.Channels.Links;

/// <summary>
/// Configuration section "Links": the one secret that signs every link the service hands out, and how long each kind
/// of link lives. The address links point at is the top-level PublicBaseUrl (<see cref="PublicUrlOptions"/>).
/// </summary>
public sealed class LinksOptions
{
    public const string Section = "Links";

    /// <summary>
    /// At least 32 characters of secret. Email links and client links each sign with their own key derived from it
    /// (HMAC-SHA256(secret, purpose)), so a token of one kind never verifies as the other. When empty, 256 random bits
    /// are generated once into &lt;DataDirectory&gt;/link-secret. Every node of a cluster must be configured with the same value.
    /// </summary>
    public string? Secret { get; set; }

    /// <summary>The secret before the last rotation: links of every kind it signed keep working until they expire.</summary>
    public string? PreviousSecret { get; set; }

    /// <summary>How long a one-tap rating link in an email works: longer than a session cycle, short enough that an old email cannot rate a new week.</summary>
    public TimeSpan RatingLifetime { get; set; } = TimeSpan.FromDays(14);

    /// <summary>Unsubscribe links in emails must keep working for as long as people keep old emails.</summary>
    public TimeSpan UnsubscribeLifetime { get; set; } = TimeSpan.FromDays(365);

    /// <summary>A client (portal) link's lifetime when the request does not name one.</summary>
    public int DefaultLifetimeHours { get; set; } = 7 * 24;

    /// <summary>The longest a client (portal) link may be issued for.</summary>
    public int MaxLifetimeHours { get; set; } = 30 * 24;

    /// <summary>The roster of a cohort, in coach digests; {base} is PublicBaseUrl, {cohortId} is replaced.</summary>
    public string RosterUrl { get; set; } = "{base}/coach/cohorts/{cohortId}/roster";

    /// <summary>One client's timeline, in coach digests; {base} is PublicBaseUrl, {clientId} is replaced.</summary>
    public string ClientUrl { get; set; } = "{base}/coach/clients/{clientId}/timeline";

    public string Roster(string baseUrl, string cohortId) =>
        RosterUrl.Replace("{base}", baseUrl.TrimEnd('/'), StringComparison.Ordinal).Replace("{cohortId}", cohortId, StringComparison.Ordinal);

    public string Client(string baseUrl, string clientId) =>
        ClientUrl.Replace("{base}", baseUrl.TrimEnd('/'), StringComparison.Ordinal).Replace("{clientId}", clientId, StringComparison.Ordinal);
}
