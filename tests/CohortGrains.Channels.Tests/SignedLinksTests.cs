using System.Security.Cryptography;
using CohortGrains.Channels.Links;
using CohortGrains.Runtime.Storage;

namespace CohortGrains.Channels.Tests;

/// <summary>Links that act without a login: only the signer can make them, each does one thing, and they expire.</summary>
public sealed class SignedLinksTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 5, 14, 0, 0, TimeSpan.Zero);
    private static readonly GrainId Ava = new("org_1", "ClientLoop", "cli_ava");
    private readonly SignedLinks _links = new(RandomNumberGenerator.GetBytes(32));

    [Fact]
    public void ARatingLinkCarriesTheClientPromptAndRating()
    {
        var token = _links.Rating(Ava, "s1-day5", 4, Now.AddDays(14));

        Assert.Equal(LinkCheck.Valid, _links.Check(token, LinkPurpose.Rate, Now, out var claims));
        Assert.Equal(new LinkClaims(LinkPurpose.Rate, "org_1", "cli_ava", "s1-day5", 4, Now.AddDays(14)), claims);
        Assert.Matches("^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$", token);
    }

    [Fact]
    public void ALinkExpires()
    {
        var token = _links.Rating(Ava, "s1-day5", 4, Now.AddDays(14));

        Assert.Equal(LinkCheck.Valid, _links.Check(token, LinkPurpose.Rate, Now.AddDays(14).AddSeconds(-1), out _));
        Assert.Equal(LinkCheck.Expired, _links.Check(token, LinkPurpose.Rate, Now.AddDays(14), out var claims));
        Assert.Null(claims);
    }

    [Fact]
    public void ALinkDoesOnlyWhatItWasMadeFor()
    {
        var rate = _links.Rating(Ava, "s1-day5", 4, Now.AddDays(14));
        var unsubscribe = _links.Unsubscribe(Ava, Now.AddDays(365));

        Assert.Equal(LinkCheck.BadSignature, _links.Check(rate, LinkPurpose.Unsubscribe, Now, out _));
        Assert.Equal(LinkCheck.BadSignature, _links.Check(unsubscribe, LinkPurpose.Rate, Now, out _));
        Assert.Equal(LinkCheck.Valid, _links.Check(unsubscribe, LinkPurpose.Unsubscribe, Now, out var claims));
        Assert.Equal(("org_1", "cli_ava", (string?)null, (int?)null), (claims!.OrgId, claims.ClientId, claims.PromptId, claims.Rating));
    }

    [Fact]
    public void AChangedOrForeignLinkIsRefused()
    {
        var token = _links.Rating(Ava, "s1-day5", 4, Now.AddDays(14));
        var payload = token[..token.IndexOf('.')];
        // Someone edits the rating in the payload and keeps the signature.
        var edited = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(
            System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(Pad(payload))).Replace("\n4\n", "\n1\n"))).TrimEnd('=').Replace('+', '-').Replace('/', '_');

        Assert.Equal(LinkCheck.BadSignature, _links.Check(edited + token[token.IndexOf('.')..], LinkPurpose.Rate, Now, out _));
        Assert.Equal(LinkCheck.BadSignature, new SignedLinks(RandomNumberGenerator.GetBytes(32)).Check(token, LinkPurpose.Rate, Now, out _));
        // A mail program that cuts the link short.
        Assert.NotEqual(LinkCheck.Valid, _links.Check(token[..^3], LinkPurpose.Rate, Now, out _));
        Assert.Equal(LinkCheck.Malformed, _links.Check("not-a-token", LinkPurpose.Rate, Now, out _));
        Assert.Equal(LinkCheck.Malformed, _links.Check("", LinkPurpose.Rate, Now, out _));
        Assert.Equal(LinkCheck.Malformed, _links.Check("a.b.c", LinkPurpose.Rate, Now, out _));
    }

    [Fact]
    public void AShortKeyIsRefused() => Assert.Throws<ArgumentException>(() => new SignedLinks(new byte[16]));

    private static string Pad(string b64url)
    {
        var s = b64url.Replace('-', '+').Replace('_', '/');
        return s + new string('=', (4 - s.Length % 4) % 4);
    }

    [Fact]
    public void ALinkSignedWithThePreviousKeyStillVerifiesAndNewLinksUseTheCurrentOne()
    {
        var previous = RandomNumberGenerator.GetBytes(32);
        var old = new SignedLinks(previous).Rating(Ava, "s1-day5", 4, Now.AddDays(14));
        var rotated = new SignedLinks(RandomNumberGenerator.GetBytes(32), previous);

        Assert.Equal(LinkCheck.Valid, rotated.Check(old, LinkPurpose.Rate, Now, out _));
        Assert.Equal(LinkCheck.BadSignature, new SignedLinks(previous).Check(rotated.Rating(Ava, "s1-day5", 4, Now.AddDays(14)), LinkPurpose.Rate, Now, out _));
        Assert.Equal(LinkCheck.BadSignature, _links.Check(old, LinkPurpose.Rate, Now, out _));
    }
}
