using System.Security.Cryptography;
using System.Text;
using CohortGrains.Channels;
using CohortGrains.Channels.Links;
using CohortGrains.Host.Infrastructure;
using CohortGrains.Host.Links;
using CohortGrains.Runtime.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace CohortGrains.Host.Tests.Security;

/// <summary>
/// One secret (Links:Secret, else a generated link-secret file) behind both kinds of signed link: email links
/// (rating, unsubscribe) and client links (cgl_…), each with its own derived key; rotation applies to both.
/// </summary>
public sealed class LinkSecretTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 3, 5, 14, 0, 0, TimeSpan.Zero);
    private static readonly GrainId Ava = new("org_1", "ClientLoop", "cli_ava");
    private static readonly string S1 = new('1', 40);
    private static readonly string S2 = new('2', 40);
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "cohortgrains-tests", Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dataDirectory)) Directory.Delete(_dataDirectory, recursive: true);
    }

    private LinkSecret Secret(string? secret = null, string? previous = null) =>
        new(Options.Create(new LinksOptions { Secret = secret, PreviousSecret = previous }),
            Options.Create(new StorageOptions { DataDirectory = _dataDirectory }), NullLogger<LinkSecret>.Instance);

    private static SignedLinks EmailLinks(LinkSecret secret)
    {
        var (current, previous) = secret.KeysFor(SignedLinks.KeyPurpose);
        return new SignedLinks(current, previous);
    }

    private static ClientLinks ClientLinks(LinkSecret secret) =>
        new(Options.Create(new LinksOptions()), Options.Create(new PublicUrlOptions { PublicBaseUrl = "https://coach.example.com/" }), secret);

    [Fact]
    public void EachKindOfLinkSignsWithItsOwnKeyDerivedFromTheOneSecret()
    {
        var secret = Secret(S1);
        var emailKey = secret.KeysFor(SignedLinks.KeyPurpose).Current;
        var clientKey = secret.KeysFor(Host.Infrastructure.ClientLinks.KeyPurpose).Current;

        Assert.Equal(HMACSHA256.HashData(Encoding.UTF8.GetBytes(S1), "cohortgrains/email-links/v1"u8.ToArray()), emailKey);
        Assert.Equal(HMACSHA256.HashData(Encoding.UTF8.GetBytes(S1), "cohortgrains/client-links/v1"u8.ToArray()), clientKey);
        Assert.NotEqual(emailKey, clientKey);
        Assert.Null(secret.KeysFor(SignedLinks.KeyPurpose).Previous);
    }

    [Fact]
    public void AnEmailLinkNeverVerifiesAsAClientLink()
    {
        var secret = Secret(S1);
        var clients = ClientLinks(secret);
        var email = EmailLinks(secret).Unsubscribe(Ava, Now.AddDays(365));
        Assert.Null(clients.Verify(email, Now));
        Assert.Null(clients.Verify(Host.Infrastructure.ClientLinks.Prefix + email, Now));

        // A client-link body MAC'd with the email-link key (what a confused signer would produce) is refused;
        // the same body MAC'd with the client-link key is accepted, so only the key makes the difference.
        var body = ClientBody("org_1", "cli_ava", Now.AddDays(7));
        Assert.Null(clients.Verify(body + "." + Mac(secret.KeysFor(SignedLinks.KeyPurpose).Current, body), Now));
        Assert.Null(clients.Verify(body + "." + Mac(Encoding.UTF8.GetBytes(S1), body), Now));
        Assert.NotNull(clients.Verify(body + "." + Mac(secret.KeysFor(Host.Infrastructure.ClientLinks.KeyPurpose).Current, body), Now));
    }

    [Fact]
    public void AClientLinkNeverVerifiesAsAnEmailLink()
    {
        var secret = Secret(S1);
        var emails = EmailLinks(secret);
        var client = ClientLinks(secret).Issue("org_1", "cli_ava", Now.AddDays(7));
        foreach (var purpose in new[] { LinkPurpose.Rate, LinkPurpose.Unsubscribe })
            Assert.NotEqual(LinkCheck.Valid, emails.Check(client, purpose, Now, out _));

        // An email-link payload MAC'd with the client-link key is refused; with the email-link key it is accepted.
        var payload = Encoding.UTF8.GetBytes($"v1\nunsubscribe\norg_1\ncli_ava\n\n\n{Now.AddDays(365).ToUnixTimeSeconds()}");
        var asClient = Base64Url(payload) + "." + Base64Url(HMACSHA256.HashData(secret.KeysFor(Host.Infrastructure.ClientLinks.KeyPurpose).Current, payload)[..16]);
        var asEmail = Base64Url(payload) + "." + Base64Url(HMACSHA256.HashData(secret.KeysFor(SignedLinks.KeyPurpose).Current, payload)[..16]);
        Assert.Equal(LinkCheck.BadSignature, emails.Check(asClient, LinkPurpose.Unsubscribe, Now, out _));
        Assert.Equal(LinkCheck.Valid, emails.Check(asEmail, LinkPurpose.Unsubscribe, Now, out _));
    }

    [Fact]
    public void AfterARotationLinksOfBothKindsSignedWithThePreviousSecretStillVerifyUntilItIsDropped()
    {
        var before = Secret(S1);
        var rating = EmailLinks(before).Rating(Ava, "s1-day5", 4, Now.AddDays(14));
        var client = ClientLinks(before).Issue("org_1", "cli_ava", Now.AddDays(7));

        var rotated = Secret(S2, previous: S1);
        Assert.Equal(LinkCheck.Valid, EmailLinks(rotated).Check(rating, LinkPurpose.Rate, Now, out _));
        Assert.Equal(new Host.Infrastructure.LinkClaims("org_1", "cli_ava", Now.AddDays(7)), ClientLinks(rotated).Verify(client, Now));
        // New links are signed with the new secret.
        var fresh = EmailLinks(rotated).Rating(Ava, "s1-day5", 4, Now.AddDays(14));
        Assert.Equal(LinkCheck.Valid, EmailLinks(Secret(S2)).Check(fresh, LinkPurpose.Rate, Now, out _));
        Assert.NotNull(ClientLinks(Secret(S2)).Verify(ClientLinks(rotated).Issue("org_1", "cli_ava", Now.AddDays(7)), Now));

        var done = Secret(S2);
        Assert.Equal(LinkCheck.BadSignature, EmailLinks(done).Check(rating, LinkPurpose.Rate, Now, out _));
        Assert.Null(ClientLinks(done).Verify(client, Now));
    }

    [Fact]
    public void WithoutAConfiguredSecretTheGeneratedFileIsWrittenOnceAndReusedAcrossRestarts()
    {
        var first = Secret();
        var path = Path.Combine(_dataDirectory, LinkSecret.FileName);
        var written = File.ReadAllText(path);
        if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        var rating = EmailLinks(first).Rating(Ava, "s1-day5", 4, Now.AddDays(14));
        var client = ClientLinks(first).Issue("org_1", "cli_ava", Now.AddDays(7));

        var restarted = Secret();

        Assert.Equal(written, File.ReadAllText(path));
        Assert.Equal(LinkCheck.Valid, EmailLinks(restarted).Check(rating, LinkPurpose.Rate, Now, out _));
        Assert.NotNull(ClientLinks(restarted).Verify(client, Now));
        Assert.Equal(first.KeysFor("any").Current, restarted.KeysFor("any").Current);
    }

    [Fact]
    public void AClientLinkPointsAtThePortalUnderThePublicUrl()
    {
        var links = ClientLinks(Secret(S1));

        Assert.Equal("https://coach.example.com/portal", links.PortalUrl);
        Assert.Equal("https://coach.example.com/portal?token=cgl_a.b", links.UrlFor("cgl_a.b"));
    }

    [Fact]
    public void ASecretShorterThan32CharactersIsRefused()
    {
        var error = Assert.Throws<InvalidOperationException>(() => Secret("too-short"));
        Assert.Contains("Links:Secret must be at least 32 characters", error.Message);
    }

    private static string ClientBody(string org, string client, DateTimeOffset expires) =>
        Host.Infrastructure.ClientLinks.Prefix + Base64Url(Encoding.UTF8.GetBytes($"v1|{org}|{client}|{expires.ToUnixTimeSeconds()}|nonce"));

    private static string Mac(byte[] key, string body) => Base64Url(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(body)));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
