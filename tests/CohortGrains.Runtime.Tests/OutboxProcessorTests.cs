using CohortGrains.Runtime.Channels;
using CohortGrains.Runtime.Storage;

namespace CohortGrains.Runtime.Tests;

/// <summary>Provider faults never lose a touch: transient ones are retried with backoff, permanent ones are recorded with the reason.</summary>
public sealed class OutboxProcessorTests
{
    private static readonly GrainId Grain = new("org1", "ClientLoop", "cli_1");

    private static async Task EnqueueAsync(RuntimeFixture fx, string key = "org1/cli_1/s1-day2") =>
        await fx.Store.RunTurnAsync(Grain, TurnTrigger.FromCommand, fx.Clock.GetUtcNow(), _ =>
            new TurnDecision.Write("{}", new GrainProjection(), [], [], [new OutboxWrite(key, "sms", "+14155550101", null, "Started yet?", "day2", "s1-day2")], []),
            default);

    private static async Task<OutboxRow> RowAsync(RuntimeFixture fx) => Assert.Single(await fx.Store.QueryOutboxAsync(new OutboxQuery("org1"), default));

    [Fact]
    public async Task ClaimsCountAsHeldByTheNodeWhileTheirBatchIsUnderWayAndNoLongerOnceItIsDone()
    {
        var channel = new GatedChannel("sms");
        using var fx = new RuntimeFixture([channel]);
        await EnqueueAsync(fx, "org1/cli_1/s1-day2");
        await EnqueueAsync(fx, "org1/cli_1/s1-day5");

        var batch = fx.Outbox.ProcessBatchAsync(default);
        await channel.Started.Task;
        Assert.Equal(2, fx.Node.LeasesHeld);

        channel.Release.SetResult();
        Assert.Equal(2, await batch);
        Assert.Equal(0, fx.Node.LeasesHeld);
        Assert.Equal(0, await fx.Outbox.ProcessBatchAsync(default));
        Assert.Equal(0, fx.Node.LeasesHeld);
    }

    /// <summary>Accepts every send, but only once released; tells when the first send has started.</summary>
    private sealed class GatedChannel(string name) : IChannel
    {
        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public string Name => name;

        public async Task<SendOutcome> SendAsync(ClaimedOutbox message, CancellationToken ct)
        {
            Started.TrySetResult();
            await Release.Task.WaitAsync(ct);
            return new SendOutcome.Accepted($"SM{message.Id}", "queued");
        }
    }

    [Fact]
    public async Task TransientFaultsAreRetriedWithGrowingJitteredBackoffUntilSent()
    {
        var channel = new ScriptedChannel("sms", new SendOutcome.Transient("HTTP 503"), new SendOutcome.Transient("HTTP 500"));
        using var fx = new RuntimeFixture([channel]);
        await EnqueueAsync(fx);

        Assert.Equal(1, await fx.Outbox.ProcessBatchAsync(default));
        var row = await RowAsync(fx);
        Assert.Equal((OutboxStatus.Pending, 1, "HTTP 503"), (row.Status, row.Attempt, row.Error));

        // First retry waits half to all of the 10 s base: not before 5 s, surely by 10 s.
        fx.Clock.Advance(TimeSpan.FromSeconds(4.9));
        Assert.Equal(0, await fx.Outbox.ProcessBatchAsync(default));
        fx.Clock.Advance(TimeSpan.FromSeconds(5.2));
        Assert.Equal(1, await fx.Outbox.ProcessBatchAsync(default));

        // Second retry: 10–20 s.
        fx.Clock.Advance(TimeSpan.FromSeconds(9.9));
        Assert.Equal(0, await fx.Outbox.ProcessBatchAsync(default));
        fx.Clock.Advance(TimeSpan.FromSeconds(10.2));
        Assert.Equal(1, await fx.Outbox.ProcessBatchAsync(default));

        row = await RowAsync(fx);
        Assert.Equal((OutboxStatus.Sent, 3, "SM3", "queued"), (row.Status, row.Attempt, row.ProviderMessageId, row.ProviderStatus));
        Assert.Equal(3, channel.Calls.Count);
    }

    [Fact]
    public async Task RetryAfterFromTheProviderIsHonoured()
    {
        var channel = new ScriptedChannel("sms", new SendOutcome.Transient("HTTP 429", TimeSpan.FromMinutes(2)));
        using var fx = new RuntimeFixture([channel]);
        await EnqueueAsync(fx);
        await fx.Outbox.ProcessBatchAsync(default);

        fx.Clock.Advance(TimeSpan.FromSeconds(119));
        Assert.Equal(0, await fx.Outbox.ProcessBatchAsync(default));
        fx.Clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(1, await fx.Outbox.ProcessBatchAsync(default));
        Assert.Equal(OutboxStatus.Sent, (await RowAsync(fx)).Status);
    }

    [Fact]
    public async Task AfterTheLastAttemptATransientFaultBecomesAFailureWithTheReason()
    {
        var always = Enumerable.Repeat<SendOutcome>(new SendOutcome.Transient("connection refused"), 10).ToArray();
        using var fx = new RuntimeFixture([new ScriptedChannel("sms", always)], new Workers.WorkerOptions { MaxSendAttempts = 3 });
        await EnqueueAsync(fx);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(1, await fx.Outbox.ProcessBatchAsync(default));
            fx.Clock.Advance(TimeSpan.FromHours(2));
        }
        var row = await RowAsync(fx);
        Assert.Equal(OutboxStatus.Failed, row.Status);
        Assert.Contains("gave up after 3 attempts: connection refused", row.Error);
        Assert.Equal(0, await fx.Outbox.ProcessBatchAsync(default));
    }

    [Fact]
    public async Task APermanentFaultFailsAtOnceWithTheProvidersCode()
    {
        var channel = new ScriptedChannel("sms", new SendOutcome.Permanent("The 'To' number is not a valid phone number.", "21211"));
        using var fx = new RuntimeFixture([channel]);
        await EnqueueAsync(fx);
        await fx.Outbox.ProcessBatchAsync(default);
        fx.Clock.Advance(TimeSpan.FromDays(1));
        Assert.Equal(0, await fx.Outbox.ProcessBatchAsync(default));
        var row = await RowAsync(fx);
        Assert.Equal((OutboxStatus.Failed, "21211"), (row.Status, row.ErrorCode));
        Assert.Single(channel.Calls);
    }

    [Fact]
    public async Task ASendCutOffByACrashIsSentAfterTheLeaseAndTheDeadNodesLateResultIsIgnored()
    {
        var channel = new ScriptedChannel("sms");
        using var fx = new RuntimeFixture([channel]);
        await EnqueueAsync(fx);
        // Another node claims the row and dies before recording anything.
        var dead = Assert.Single(await fx.Store.ClaimOutboxAsync("dead-node", fx.Clock.GetUtcNow(), 10, fx.Options.LeaseDuration, default));
        Assert.Equal(0, await fx.Outbox.ProcessBatchAsync(default));

        fx.Clock.Advance(fx.Options.LeaseDuration + TimeSpan.FromSeconds(1));
        Assert.Equal(1, await fx.Outbox.ProcessBatchAsync(default));
        Assert.Equal(OutboxStatus.Sent, (await RowAsync(fx)).Status);
        Assert.False(await fx.Store.CompleteOutboxAsync(dead.Id, dead.Attempt, new OutboxResult.Failed("late", null), fx.Clock.GetUtcNow(), default));
        Assert.Equal(OutboxStatus.Sent, (await RowAsync(fx)).Status);
    }

    [Fact]
    public async Task ResultsOfSendsFinishingTogetherAreEachRecordedOnTheirOwnRow()
    {
        // Results that arrive together share one write (group commit); each row must still get its own.
        var channel = new FinishTogetherChannel("sms", sends: 12);
        using var fx = new RuntimeFixture([channel]);
        for (var i = 0; i < 12; i++) await EnqueueAsync(fx, $"org1/cli_1/s{i}-day2");

        Assert.Equal(12, await fx.Outbox.ProcessBatchAsync(default));

        var rows = await fx.Store.QueryOutboxAsync(new OutboxQuery("org1"), default);
        Assert.Equal(12, rows.Count);
        Assert.All(rows, row => Assert.Equal(FinishTogetherChannel.Expected(row.IdempotencyKey),
            (row.Status, row.ProviderMessageId, row.Error, row.ErrorCode)));
    }

    /// <summary>Holds every send until all of them are under way, then answers by key: accepted, transient, permanent.</summary>
    private sealed class FinishTogetherChannel(string name, int sends) : IChannel
    {
        private readonly TaskCompletionSource _allStarted = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _started;
        public string Name => name;

        private static int Index(string key) => int.Parse(key.Split('/')[^1].TrimStart('s').Split('-')[0]);

        public static (string, string?, string?, string?) Expected(string key) => (Index(key) % 3) switch
        {
            0 => (OutboxStatus.Sent, $"SM-{key}", null, null),
            1 => (OutboxStatus.Pending, null, $"HTTP 503 for {key}", null),
            _ => (OutboxStatus.Failed, null, $"invalid number for {key}", "21211"),
        };

        public async Task<SendOutcome> SendAsync(ClaimedOutbox message, CancellationToken ct)
        {
            if (Interlocked.Increment(ref _started) == sends) _allStarted.SetResult();
            await _allStarted.Task.WaitAsync(ct);
            var key = message.IdempotencyKey;
            return (Index(key) % 3) switch
            {
                0 => new SendOutcome.Accepted($"SM-{key}", "queued"),
                1 => new SendOutcome.Transient($"HTTP 503 for {key}"),
                _ => new SendOutcome.Permanent($"invalid number for {key}", "21211"),
            };
        }
    }

    [Fact]
    public async Task ATouchForAChannelThisNodeDoesNotHaveFailsWithAClearReason()
    {
        using var fx = new RuntimeFixture([new ScriptedChannel("email")]);
        await EnqueueAsync(fx);
        await fx.Outbox.ProcessBatchAsync(default);
        Assert.Contains("no channel 'sms'", (await RowAsync(fx)).Error);
    }
}
