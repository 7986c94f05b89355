using CohortGrains.Channels.Tests.Fakes;
using CohortGrains.Channels.Twilio;
using CohortGrains.Runtime.Channels;
using CohortGrains.Runtime.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace CohortGrains.Channels.Tests;

/// <summary>The SMS channel against a local Twilio that checks auth, path and form fields like the real one.</summary>
public sealed class TwilioSmsChannelTests : IAsyncLifetime
{
    private FakeTwilio _twilio = null!;
    private readonly HttpClient _http = new();

    public async Task InitializeAsync() => _twilio = await FakeTwilio.StartAsync();

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _twilio.DisposeAsync();
    }

    private TwilioSmsChannel Channel(Action<TwilioOptions>? configure = null, string publicBaseUrl = "https://coach.example.com/")
    {
        var options = new TwilioOptions
        {
            AccountSid = FakeTwilio.AccountSid,
            AuthToken = FakeTwilio.AuthToken,
            From = FakeTwilio.From,
            BaseUrl = _twilio.BaseUrl,
        };
        configure?.Invoke(options);
        return new TwilioSmsChannel(_http, Options.Create(options),
            Options.Create(new PublicUrlOptions { PublicBaseUrl = publicBaseUrl }), TimeProvider.System, NullLogger<TwilioSmsChannel>.Instance);
    }

    private static ClaimedOutbox Touch(string to = "+14155550101", string body = "Hi Ava, started on make two prospecting calls yet?") =>
        new(7, new GrainId("org_1", "ClientLoop", "cli_1"), "ClientLoop/org_1/cli_1/s1-day2", "sms", to, null, body, "day2", 1, DateTimeOffset.UnixEpoch);

    [Fact]
    public async Task SendsTheFormTwilioExpectsAndReturnsItsSidAndStatus()
    {
        var outcome = await Channel().SendAsync(Touch(), default);

        var call = Assert.Single(_twilio.Calls);
        Assert.Empty(_twilio.Refusals);
        Assert.Equal($"/2010-04-01/Accounts/{FakeTwilio.AccountSid}/Messages.json", call.Path);
        Assert.Equal(new Dictionary<string, string>
        {
            ["To"] = "+14155550101",
            ["From"] = FakeTwilio.From,
            ["Body"] = "Hi Ava, started on make two prospecting calls yet?",
            ["StatusCallback"] = "https://coach.example.com/webhooks/twilio/status",
        }, call.Form);
        Assert.Equal(new SendOutcome.Accepted(call.Sid, "queued"), outcome);
        Assert.Matches("^SM[0-9a-f]{32}$", call.Sid);
    }

    [Fact]
    public async Task AMessagingServiceIsUsedInsteadOfFromWhenConfigured()
    {
        var outcome = await Channel(o => o.MessagingServiceSid = "MG0123456789abcdef0123456789abcdef").SendAsync(Touch(), default);

        var call = Assert.Single(_twilio.Calls);
        Assert.Equal("MG0123456789abcdef0123456789abcdef", call.Form["MessagingServiceSid"]);
        Assert.False(call.Form.ContainsKey("From"));
        Assert.Equal("accepted", Assert.IsType<SendOutcome.Accepted>(outcome).ProviderStatus);
    }

    [Fact]
    public async Task WhileThePublicUrlIsLoopbackNoStatusCallbackIsAskedFor()
    {
        await Channel(publicBaseUrl: PublicUrlOptions.Default).SendAsync(Touch(), default);

        Assert.False(Assert.Single(_twilio.Calls).Form.ContainsKey("StatusCallback"));
    }

    [Fact]
    public async Task TooManyRequestsIsTransientAndCarriesRetryAfter()
    {
        _twilio.Then(new FakeAnswer(429, RetryAfterSeconds: 120));

        var outcome = await Channel().SendAsync(Touch(), default);

        var transient = Assert.IsType<SendOutcome.Transient>(outcome);
        Assert.Equal(TimeSpan.FromSeconds(120), transient.RetryAfter);
        Assert.Contains("20429", transient.Error);
    }

    [Theory]
    [InlineData(500)]
    [InlineData(502)]
    [InlineData(503)]
    public async Task ServerErrorsAreTransient(int status)
    {
        _twilio.Then(new FakeAnswer(status));

        Assert.IsType<SendOutcome.Transient>(await Channel().SendAsync(Touch(), default));
    }

    [Fact]
    public async Task AnUnreachableTwilioIsTransient()
    {
        using var closed = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        closed.Start();
        var port = ((System.Net.IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop();

        var outcome = await Channel(o => o.BaseUrl = $"http://127.0.0.1:{port}").SendAsync(Touch(), default);

        Assert.StartsWith("Twilio unreachable", Assert.IsType<SendOutcome.Transient>(outcome).Error);
    }

    [Fact]
    public async Task ATwilioThatDoesNotAnswerInTimeIsTransient()
    {
        _twilio.Then(new FakeAnswer(201, Delay: TimeSpan.FromSeconds(5)));
        _http.Timeout = TimeSpan.FromMilliseconds(300);

        var outcome = await Channel().SendAsync(Touch(), default);

        Assert.Contains("did not answer", Assert.IsType<SendOutcome.Transient>(outcome).Error);
    }

    [Fact]
    public async Task AnUnsubscribedRecipientIsAnOptOutForOurSenderNotAFailure()
    {
        _twilio.OptedOut["+14155550101"] = true;

        var outcome = await Channel().SendAsync(Touch(), default);

        var optedOut = Assert.IsType<SendOutcome.RecipientOptedOut>(outcome);
        Assert.Equal(("21610", FakeTwilio.From), (optedOut.ErrorCode, optedOut.Sender));
        Assert.Equal("Twilio error 21610: Attempt to send to unsubscribed recipient", optedOut.Error);
    }

    [Fact]
    public async Task OtherClientErrorsArePermanentWithTwiliosCodeAndMessage()
    {
        var outcome = await Channel().SendAsync(Touch(to: FakeTwilio.InvalidNumber), default);

        Assert.Equal(new SendOutcome.Permanent($"Twilio error 21211: The 'To' number {FakeTwilio.InvalidNumber} is not a valid phone number.", "21211"), outcome);
    }

    [Fact]
    public async Task WrongCredentialsAreRetriedNotFailedForGood()
    {
        var outcome = await Channel(o => o.AuthToken = "rotated-yesterday").SendAsync(Touch(), default);

        Assert.Equal(401, Assert.Single(_twilio.Calls).Status);
        Assert.Contains("20003", Assert.IsType<SendOutcome.Transient>(outcome).Error);
    }

    [Fact]
    public async Task ANumberNotInE164IsRefusedWithoutCallingTwilio()
    {
        var outcome = await Channel().SendAsync(Touch(to: "0415 550 101"), default);

        Assert.IsType<SendOutcome.Permanent>(outcome);
        Assert.Empty(_twilio.Calls);
    }

    [Fact]
    public async Task ABodyOverTheLimitIsTruncatedOnAGraphemeBoundary()
    {
        // 1,595 letters then family emoji (8 UTF-16 units each): the first one straddles the limit and must not be split.
        var body = new string('a', 1595) + string.Concat(Enumerable.Repeat("👩‍👩‍👧", 5));

        var outcome = await Channel().SendAsync(Touch(body: body), default);

        Assert.IsType<SendOutcome.Accepted>(outcome);
        Assert.Empty(_twilio.Refusals);
        var sent = Assert.Single(_twilio.Calls).Form["Body"];
        Assert.True(sent.Length <= 1600, $"{sent.Length} characters");
        Assert.Equal(new string('a', 1595) + "…", sent);
    }

    [Theory]
    [InlineData(10, "short", "short")]
    [InlineData(6, "abcdefgh", "abcde…")]
    [InlineData(4, "ab👍🏽cd", "ab…")]
    [InlineData(7, "ab👍🏽cd", "ab👍🏽…")]
    [InlineData(8, "ab👍🏽cd", "ab👍🏽cd")]
    public void FitBodyKeepsWholeGraphemes(int max, string body, string expected) =>
        Assert.Equal(expected, TwilioSmsChannel.FitBody(body, max));
}
