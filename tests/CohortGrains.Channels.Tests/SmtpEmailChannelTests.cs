using System.Security.Cryptography;
using System.Text.RegularExpressions;
using CohortGrains.Channels.Email;
using CohortGrains.Channels.Links;
using CohortGrains.Channels.Tests.Fakes;
using CohortGrains.Runtime.Channels;
using CohortGrains.Runtime.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace CohortGrains.Channels.Tests;

/// <summary>The email channel against a real SMTP server (aiosmtpd on loopback); assertions on what it received.</summary>
public sealed partial class SmtpEmailChannelTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 3, 8, 13, 0, 0, TimeSpan.Zero);
    private readonly SmtpSink _smtp = SmtpSink.Start();
    private readonly SignedLinks _links = new(RandomNumberGenerator.GetBytes(32));

    public void Dispose() => _smtp.Dispose();

    private SmtpEmailChannel Channel(int? port = null) => new(
        Options.Create(new SmtpOptions
        {
            Host = "127.0.0.1",
            Port = port ?? _smtp.Port,
            StartTls = false,
            From = "maya@northstar.example",
            FromName = "Maya Chen (Northstar Coaching)",
            ReplyTo = "coach-replies@northstar.example",
            Timeout = TimeSpan.FromSeconds(10),
        }),
        Options.Create(new LinksOptions()),
        Options.Create(new PublicUrlOptions { PublicBaseUrl = "https://coach.example.com" }),
        _links,
        new FixedClock(Now),
        NullLogger<SmtpEmailChannel>.Instance);

    private static ClaimedOutbox Touch(string to = "ava@example.com", string? promptId = "s1-day5", string subject = "How did this week go?") =>
        new(11, new GrainId("org_1", "ClientLoop", "cli_ava"), "ClientLoop/org_1/cli_ava/s1-day5", "email", to, subject,
            "Hi Ava, how did make two prospecting calls and draft the pricing page go? Reply 1-5 (5 = nailed it) and tell me anything in your way.",
            "day5", 1, Now) { PromptId = promptId };

    [Fact]
    public async Task DeliversTextAndHtmlNamingTheCommitmentWithOneTapAnswersAndAWorkingUnsubscribe()
    {
        var outcome = await Channel().SendAsync(Touch(), default);

        var accepted = Assert.IsType<SendOutcome.Accepted>(outcome);
        var mail = _smtp.Single("ava@example.com");
        Assert.Equal("maya@northstar.example", mail.MailFrom);
        Assert.Equal("How did this week go?", mail.Subject);
        Assert.Contains("Maya Chen (Northstar Coaching)", mail.Headers["From"]);
        Assert.EndsWith("<maya@northstar.example>", mail.Headers["From"]);
        Assert.Equal("coach-replies@northstar.example", mail.Headers["Reply-To"]);
        Assert.Equal(accepted.ProviderMessageId, mail.Headers["Message-ID"]);
        Assert.Contains("make two prospecting calls", mail.Text);
        Assert.Contains("make two prospecting calls", mail.Html);

        // List-Unsubscribe points at a signed link for this client that the service will honour, with one-click POST.
        var unsubscribe = Regex.Match(mail.Headers["List-Unsubscribe"], "^<https://coach.example.com/unsubscribe/([^>]+)>$");
        Assert.True(unsubscribe.Success, mail.Headers["List-Unsubscribe"]);
        Assert.Equal("List-Unsubscribe=One-Click", mail.Headers["List-Unsubscribe-Post"]);
        Assert.Equal(LinkCheck.Valid, _links.Check(unsubscribe.Groups[1].Value, LinkPurpose.Unsubscribe, Now, out var who));
        Assert.Equal(("org_1", "cli_ava"), (who!.OrgId, who.ClientId));
        Assert.Contains(unsubscribe.Groups[1].Value, mail.Text);
        Assert.Contains(unsubscribe.Groups[1].Value, mail.Html);

        // Five one-tap answers, each a signed rating of this prompt, in both bodies.
        var ratings = RatingLinks().Matches(mail.Html!).Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(5, ratings.Count);
        for (var r = 1; r <= 5; r++)
        {
            Assert.Equal(LinkCheck.Valid, _links.Check(ratings[r - 1], LinkPurpose.Rate, Now, out var claims));
            Assert.Equal(("cli_ava", "s1-day5", (int?)r), (claims!.ClientId, claims.PromptId, claims.Rating));
            Assert.Contains(ratings[r - 1], mail.Text);
        }
    }

    [Fact]
    public async Task AnEmailThatAsksNothingHasNoRatingLinksButCanBeUnsubscribedFrom()
    {
        await Channel().SendAsync(Touch(promptId: null, subject: "Before our call on Tue 10:00"), default);

        var mail = _smtp.Single("ava@example.com");
        Assert.Empty(RatingLinks().Matches(mail.Html!));
        Assert.DoesNotContain("/r/", mail.Text);
        Assert.StartsWith("<https://coach.example.com/unsubscribe/", mail.Headers["List-Unsubscribe"]);
    }

    [Fact]
    public async Task NonAsciiSubjectsAndBodiesArriveIntact()
    {
        var touch = Touch(subject: "Café check-in ✓") with { Body = "Hi Zoë, how did the café pitch go? 💪" };

        await Channel().SendAsync(touch, default);

        var mail = _smtp.Single("ava@example.com");
        Assert.Equal("Café check-in ✓", mail.Subject);
        Assert.Contains("Hi Zoë, how did the café pitch go? 💪", mail.Text);
        Assert.Contains("Hi Zoë, how did the café pitch go? 💪", mail.Html);
    }

    [Fact]
    public async Task ATemporaryRefusalIsRetriedAndAPermanentOneIsNot()
    {
        var later = await Channel().SendAsync(Touch(to: "tempfail@example.com"), default);
        var never = await Channel().SendAsync(Touch(to: "reject@example.com"), default);

        Assert.Contains("451", Assert.IsType<SendOutcome.Transient>(later).Error);
        var permanent = Assert.IsType<SendOutcome.Permanent>(never);
        Assert.Equal("550", permanent.ErrorCode);
        Assert.Contains("No such user", permanent.Error);
        Assert.Empty(_smtp.Messages());
    }

    [Fact]
    public async Task NoServerListeningIsTransient()
    {
        using var closed = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        closed.Start();
        var port = ((System.Net.IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop();

        Assert.IsType<SendOutcome.Transient>(await Channel(port).SendAsync(Touch(), default));
    }

    [Fact]
    public async Task ABadAddressIsPermanentWithoutConnecting()
    {
        Assert.IsType<SendOutcome.Permanent>(await Channel().SendAsync(Touch(to: "not an address"), default));
        Assert.Empty(_smtp.Messages());
    }

    [Fact]
    public async Task TheMessageIdIsStableAcrossAttemptsSoAResendIsRecognisable()
    {
        var first = Assert.IsType<SendOutcome.Accepted>(await Channel().SendAsync(Touch(), default));
        var again = Assert.IsType<SendOutcome.Accepted>(await Channel().SendAsync(Touch() with { Attempt = 2 }, default));

        Assert.Equal(first.ProviderMessageId, again.ProviderMessageId);
        Assert.Matches("^<[0-9a-f]{32}@northstar.example>$", first.ProviderMessageId);
    }

    [GeneratedRegex("href=\"https://coach.example.com/r/([^\"]+)\"")]
    private static partial Regex RatingLinks();

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
