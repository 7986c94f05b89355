namespace CohortGrains.Channels;

/// <summary>
/// The top-level setting "PublicBaseUrl": the address at which clients, coaches and providers reach this service
/// (e.g. https://coach.example.com). Every absolute URL the service hands out is built on it: the links in emails and
/// digests, the client portal ({PublicBaseUrl}/portal), Twilio's status callback, and the URL Twilio signs its webhooks over.
/// </summary>
public sealed class PublicUrlOptions
{
    public const string Key = "PublicBaseUrl";
    public const string Default = "http://127.0.0.1:5080";

    public string? PublicBaseUrl { get; set; } = Default;

    /// <summary>The configured address without a trailing slash (the default when empty).</summary>
    public string BaseUrl => string.IsNullOrWhiteSpace(PublicBaseUrl) ? Default : PublicBaseUrl.Trim().TrimEnd('/');

    public bool IsValid => Uri.TryCreate(BaseUrl, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https";

    /// <summary>A loopback address (the default): fine for links opened on this machine, unreachable for anyone else.</summary>
    public bool IsLoopback => Uri.TryCreate(BaseUrl, UriKind.Absolute, out var uri) && uri.IsLoopback;

    /// <summary>The address if the outside world (Twilio) can reach it; null while it is a loopback address.</summary>
    public string? ExternalBaseUrl => IsLoopback ? null : BaseUrl;

    public string Url(string path) => BaseUrl + path;
}
