using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using CohortGrains.Runtime.Storage;

namespace CohortGrains.Runtime.Tests.Contract;

/// <summary>
/// The behaviour every <see cref="IGrainStore"/> must show. An engine's test class derives from this and supplies a
/// fresh, empty, migrated store per call. Time is always passed explicitly: nothing here waits on the wall clock.
/// </summary>
public abstract partial class GrainStoreContract
{
    /// <summary>A fresh empty store with every migration applied.</summary>
    protected abstract Task<IGrainStore> CreateStoreAsync();

    protected static readonly DateTimeOffset T0 = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);
    protected static readonly TimeSpan Lease = TimeSpan.FromSeconds(30);
    protected static CancellationToken Ct => CancellationToken.None;

    protected static GrainId Client(string key, string org = "org1") => new(org, "ClientLoop", key);
    protected static GrainId Coach(string key, string org = "org1") => new(org, "Coach", key);

    protected static TurnDecision.Write Write(string state, GrainProjection? projection = null,
        IReadOnlyList<TimerWrite>? timers = null, IReadOnlyList<string>? cancel = null,
        IReadOnlyList<OutboxWrite>? outbox = null, IReadOnlyList<MessageWrite>? messages = null) =>
        new(state, projection ?? new GrainProjection(), timers ?? [], cancel ?? [], outbox ?? [], messages ?? []);

    protected static OutboxWrite Sms(string idempotencyKey, string body = "Started on the two calls yet?") =>
        new(idempotencyKey, "sms", "+15550100", null, body, "day2-nudge", "p1");

    protected static Task<TurnOutcome> CommandAsync(IGrainStore store, GrainId id, DateTimeOffset now,
        TurnDecision decision) =>
        store.RunTurnAsync(id, TurnTrigger.FromCommand, now, _ => decision, Ct);

    protected static Task<TurnOutcome> TimerTurnAsync(IGrainStore store, ClaimedTimer timer, DateTimeOffset now,
        Func<StoredGrain?, TurnDecision> decide) =>
        store.RunTurnAsync(timer.Grain, new TurnTrigger.Timer(timer.Name, timer.Attempt), now, decide, Ct);

    private static async Task<ClaimedTimer> ClaimOneAsync(IGrainStore store, string owner, DateTimeOffset now) =>
        Assert.Single(await store.ClaimDueTimersAsync(owner, now, 10, Lease, Ct));

    private static async Task<OutboxRow> SingleOutboxAsync(IGrainStore store, string org = "org1") =>
        Assert.Single(await store.QueryOutboxAsync(new OutboxQuery(org), Ct));

    // ---------------------------------------------------------------- turns

    [Fact]
    public async Task LoadingAMissingGrainReturnsNull()
    {
        var store = await CreateStoreAsync();
        Assert.Null(await store.LoadAsync(Client("nobody"), Ct));
    }

    [Fact]
    public async Task LoadingManyGrainsReturnsThoseThatExistWithTheirStateAndVersion()
    {
        var store = await CreateStoreAsync();
        await CommandAsync(store, Client("ana"), T0, Write("""{"n":1}"""));
        await CommandAsync(store, Client("ana"), T0.AddMinutes(1), Write("""{"n":2}"""));
        await CommandAsync(store, Client("ben", org: "org2"), T0, Write("""{"n":7}"""));
        await CommandAsync(store, Coach("ana"), T0, Write("""{"coach":true}"""));

        var loaded = await store.LoadManyAsync([Client("ben", org: "org2"), Client("nobody"), Client("ana"), Client("ben")], Ct);

        Assert.Equal(
            [new StoredGrain(Client("ana"), """{"n":2}""", 2, T0.AddMinutes(1)), new StoredGrain(Client("ben", org: "org2"), """{"n":7}""", 1, T0)],
            loaded.OrderBy(g => g.Id.Key));
        Assert.Empty(await store.LoadManyAsync([], Ct));
    }

    [Fact]
    public async Task TurnOnANewGrainInsertsVersionOne()
    {
        var store = await CreateStoreAsync();
        StoredGrain? seen = new(Client("x"), "sentinel", -1, T0);

        var outcome = await store.RunTurnAsync(Client("ana"), TurnTrigger.FromCommand, T0,
            g => { seen = g; return Write("""{"n":1}"""); }, Ct);

        Assert.Equal(new TurnOutcome.Committed(1), outcome);
        Assert.Null(seen);
        var stored = await store.LoadAsync(Client("ana"), Ct);
        Assert.Equal(new StoredGrain(Client("ana"), """{"n":1}""", 1, T0), stored);
    }

    [Fact]
    public async Task SecondTurnSeesTheCurrentStateAndWritesVersionTwo()
    {
        var store = await CreateStoreAsync();
        await CommandAsync(store, Client("ana"), T0, Write("""{"n":1}"""));

        StoredGrain? seen = null;
        var outcome = await store.RunTurnAsync(Client("ana"), TurnTrigger.FromCommand, T0.AddMinutes(1),
            g => { seen = g; return Write("""{"n":2}"""); }, Ct);

        Assert.Equal(new TurnOutcome.Committed(2), outcome);
        Assert.Equal(new StoredGrain(Client("ana"), """{"n":1}""", 1, T0), seen);
        Assert.Equal(new StoredGrain(Client("ana"), """{"n":2}""", 2, T0.AddMinutes(1)),
            await store.LoadAsync(Client("ana"), Ct));
    }

    [Fact]
    public async Task RejectWritesNothing()
    {
        var store = await CreateStoreAsync();
        await CommandAsync(store, Client("ana"), T0, Write("""{"n":1}"""));

        var outcome = await CommandAsync(store, Client("ana"), T0.AddMinutes(1),
            new TurnDecision.Reject("bad_rating", "rating must be 1-5"));

        Assert.Equal(new TurnOutcome.Rejected("bad_rating", "rating must be 1-5"), outcome);
        Assert.Equal(1, (await store.LoadAsync(Client("ana"), Ct))!.Version);
        Assert.Equal(new TurnOutcome.Rejected("x", "y"),
            await CommandAsync(store, Client("new"), T0, new TurnDecision.Reject("x", "y")));
        Assert.Null(await store.LoadAsync(Client("new"), Ct));
    }

    [Fact]
    public async Task RejectedTimerTurnStillConsumesItsTimer()
    {
        var store = await CreateStoreAsync();
        await CommandAsync(store, Client("ana"), T0, Write("{}", timers: [new("day5", T0, "{}")]));
        var timer = await ClaimOneAsync(store, "w1", T0);

        var outcome = await TimerTurnAsync(store, timer, T0, _ => new TurnDecision.Reject("stale", "already answered"));

        Assert.IsType<TurnOutcome.Rejected>(outcome);
        Assert.Equal(1, (await store.LoadAsync(Client("ana"), Ct))!.Version);
        Assert.Equal(0, (await store.GetTimerBacklogAsync(T0, Ct)).Total);
    }

    [Fact]
    public async Task TimerTurnConsumesItsTimer()
    {
        var store = await CreateStoreAsync();
        await CommandAsync(store, Client("ana"), T0, Write("{}", timers: [new("day2", T0, """{"touch":"day2"}""")]));
        var timer = await ClaimOneAsync(store, "w1", T0);

        StoredGrain? seen = null;
        var outcome = await TimerTurnAsync(store, timer, T0, g => { seen = g; return Write("""{"nudged":true}"""); });

        Assert.Equal(new TurnOutcome.Committed(2), outcome);
        Assert.Equal(1, seen!.Version);
        Assert.Equal("""{"touch":"day2"}""", timer.PayloadJson);
        Assert.Equal(0, (await store.GetTimerBacklogAsync(T0, Ct)).Total);
    }

    [Fact]
    public async Task TimerTurnWithAStaleAttemptIsFencedAndDecideIsNotCalled()
    {
        var store = await CreateStoreAsync();
        await CommandAsync(store, Client("ana"), T0, Write("{}", timers: [new("day2", T0, "{}")]));
        var timer = await ClaimOneAsync(store, "w1", T0);
        var calls = 0;

        var stale = await store.RunTurnAsync(Client("ana"), new TurnTrigger.Timer("day2", timer.Attempt - 1), T0,
            _ => { calls++; return Write("{}"); }, Ct);
        var missing = await store.RunTurnAsync(Client("ana"), new TurnTrigger.Timer("no-such-timer", 1), T0,
            _ => { calls++; return Write("{}"); }, Ct);

        Assert.IsType<TurnOutcome.Fenced>(stale);
        Assert.IsType<TurnOutcome.Fenced>(missing);
        Assert.Equal(0, calls);
        Assert.Equal(1, (await store.LoadAsync(Client("ana"), Ct))!.Version);
        Assert.Equal(1, (await store.GetTimerBacklogAsync(T0, Ct)).Total); // the real claim can still run
        Assert.IsType<TurnOutcome.Committed>(await TimerTurnAsync(store, timer, T0, _ => Write("{}")));
    }

    [Fact]
    public async Task TurnThatReschedulesItsOwnTimerNameKeepsTheNewTimer()
    {
        var store = await CreateStoreAsync();
        await CommandAsync(store, Client("ana"), T0, Write("{}", timers: [new("cadence", T0, """{"week":1}""")]));
        var timer = await ClaimOneAsync(store, "w1", T0);

        var nextWeek = T0.AddDays(7);
        await TimerTurnAsync(store, timer, T0, _ => Write("{}", timers: [new("cadence", nextWeek, """{"week":2}""")]));

        Assert.Empty(await store.ClaimDueTimersAsync("w1", nextWeek.AddSeconds(-1), 10, Lease, Ct));
        var next = await ClaimOneAsync(store, "w1", nextWeek);
        Assert.Equal(("cadence", nextWeek, """{"week":2}"""), (next.Name, next.DueAt, next.PayloadJson));
        // The old claim must never match the new schedule.
        Assert.True(next.Attempt > timer.Attempt);
        Assert.IsType<TurnOutcome.Fenced>(await TimerTurnAsync(store, timer, nextWeek, _ => Write("{}")));
    }

    [Fact]
    public async Task ReschedulingALeasedTimerBumpsItsAttemptSoTheOldClaimIsFenced()
    {
        var store = await CreateStoreAsync();
        await CommandAsync(store, Client("ana"), T0, Write("{}", timers: [new("day5", T0, """{"v":1}""")]));
        var claimed = await ClaimOneAsync(store, "w1", T0);

        // The coach moves the session while w1 holds the claim: the reminder moves with it.
        var later = T0.AddHours(2);
        await CommandAsync(store, Client("ana"), T0.AddSeconds(1),
            Write("{}", timers: [new("day5", later, """{"v":2}""")]));

        var calls = 0;
        var outcome = await TimerTurnAsync(store, claimed, T0.AddSeconds(2), _ => { calls++; return Write("{}"); });
        Assert.IsType<TurnOutcome.Fenced>(outcome);
        Assert.Equal(0, calls);

        // The rescheduled timer carries no lease: it is claimable as soon as it is due, by anyone.
        var again = await ClaimOneAsync(store, "w2", later);
        Assert.Equal("""{"v":2}""", again.PayloadJson);
        Assert.True(again.Attempt > claimed.Attempt);
    }

    [Fact]
    public async Task CancelTimersDeletesTheNamedTimersOfThatGrainOnly()
    {
        var store = await CreateStoreAsync();
        await CommandAsync(store, Client("ana"), T0, Write("{}", timers: [new("day2", T0, "{}"), new("day5", T0, "{}")]));
        await CommandAsync(store, Client("ben"), T0, Write("{}", timers: [new("day2", T0, "{}")]));

        await CommandAsync(store, Client("ana"), T0, Write("{}", cancel: ["day2", "never-existed"]));

        var left = await store.ClaimDueTimersAsync("w1", T0, 10, Lease, Ct);
        Assert.Equal(["ana/day5", "ben/day2"], left.Select(t => $"{t.Grain.Key}/{t.Name}").Order());
    }

    [Fact]
    public async Task TurnWritesStateTimersOutboxAndMessagesTogether()
    {
        var store = await CreateStoreAsync();
        var outcome = await CommandAsync(store, Client("ana"), T0, Write("""{"n":1}""",
            new GrainProjection { Status = "stuck" },
            timers: [new("day5", T0.AddDays(3), "{}")],
            outbox: [Sms("ana:day2:w1")],
            messages: [new(Coach("kim"), """{"alert":"ana"}""")]));

        Assert.Equal(new TurnOutcome.Committed(1), outcome);
        Assert.Equal("stuck", Assert.Single(await store.QueryGrainsAsync(new GrainQuery("org1", "ClientLoop"), Ct)).Projection.Status);
        var outbox = await SingleOutboxAsync(store);
        Assert.Equal(("ana:day2:w1", OutboxStatus.Pending, 0, T0), (outbox.IdempotencyKey, outbox.Status, outbox.Attempt, outbox.CreatedAt));
        Assert.Equal(Client("ana"), outbox.Grain);
        var message = await ClaimOneAsync(store, "w1", T0); // the day5 timer is not due yet
        Assert.Equal(Coach("kim"), message.Grain);
        Assert.Equal(2, (await store.GetTimerBacklogAsync(T0, Ct)).Total);
    }

    [Fact]
    public async Task TurnIsAllOrNothingWhenDecideThrows()
    {
        var store = await CreateStoreAsync();
        await CommandAsync(store, Client("ana"), T0, Write("""{"n":1}""", timers: [new("day2", T0, "{}")],
            outbox: [Sms("ana:welcome")]));
        var timer = await ClaimOneAsync(store, "w1", T0);

        await Assert.ThrowsAsync<InvalidOperationException>(() => TimerTurnAsync(store, timer, T0,
            _ => throw new InvalidOperationException("decider bug")));

        Assert.Equal(new StoredGrain(Client("ana"), """{"n":1}""", 1, T0), await store.LoadAsync(Client("ana"), Ct));
        Assert.Equal("ana:welcome", (await SingleOutboxAsync(store)).IdempotencyKey);
        var backlog = await store.GetTimerBacklogAsync(T0, Ct);
        Assert.Equal((1L, 1L), (backlog.Due, backlog.Total));
        // The timer is untouched, so the same claim can run the turn once the bug is fixed.
        var retried = await TimerTurnAsync(store, timer, T0, _ => Write("""{"n":2}""", outbox: [Sms("ana:day2")],
            messages: [new(Coach("kim"), "{}")]));
        Assert.Equal(new TurnOutcome.Committed(2), retried);
    }

    [Fact]
    public async Task AFailingTurnLeavesNoPartialEffects()
    {
        var store = await CreateStoreAsync();
        await CommandAsync(store, Client("ana"), T0, Write("{}"));

        // The decision itself is valid; the throw comes after decide, while its effects are being written.
        var poisoned = Write("{}", timers: [new("day5", T0, "{}")], outbox: [Sms("ana:day5")],
            messages: [new(Coach("kim"), "{}"), null!]);
        await Assert.ThrowsAnyAsync<Exception>(() => CommandAsync(store, Client("ana"), T0, poisoned));

        Assert.Equal(1, (await store.LoadAsync(Client("ana"), Ct))!.Version);
        Assert.Equal(0, (await store.GetTimerBacklogAsync(T0, Ct)).Total);
        Assert.Empty(await store.QueryOutboxAsync(new OutboxQuery("org1"), Ct));
    }

    [Fact]
    public async Task DuplicateOutboxIdempotencyKeyIsEnqueuedOnce()
    {
        var store = await CreateStoreAsync();
        await CommandAsync(store, Client("ana"), T0, Write("{}", outbox: [Sms("ana:day2:w1", "first")]));
        var second = await CommandAsync(store, Client("ana"), T0.AddMinutes(1),
            Write("{}", outbox: [Sms("ana:day2:w1", "second"), Sms("ana:day2:w1", "third")]));

        Assert.Equal(new TurnOutcome.Committed(2), second); // the turn itself still commits
        Assert.Equal("first", (await SingleOutboxAsync(store)).Body);
    }

    [Fact]
    public async Task MessagesAppearAsDueTimersOnTheTarget()
    {
        var store = await CreateStoreAsync();
        await CommandAsync(store, Client("ana"), T0, Write("{}", messages:
            [new(Coach("kim"), """{"stuck":"ana"}"""), new(Coach("kim"), """{"stuck":"ana","again":true}""")]));

        var due = await store.ClaimDueTimersAsync("w1", T0, 10, Lease, Ct);

        Assert.Equal(2, due.Count);
        Assert.All(due, t => Assert.Equal(Coach("kim"), t.Grain));
        Assert.All(due, t => Assert.StartsWith("msg:", t.Name));
        Assert.All(due, t => Assert.Equal(T0, t.DueAt));
        Assert.NotEqual(due[0].Name, due[1].Name);
        Assert.Equal(["""{"stuck":"ana","again":true}""", """{"stuck":"ana"}"""], due.Select(t => t.PayloadJson).Order());
    }

    [Fact]
    public async Task EnqueueMessagesWritesEveryMessageAsADueTimer()
    {
        var store = await CreateStoreAsync();
        await store.EnqueueMessagesAsync(
            [new(Client("ana"), """{"m":1}"""), new(Client("ben"), """{"m":2}"""), new(Client("ana"), """{"m":3}""")],
            T0, Ct);

        var due = await store.ClaimDueTimersAsync("w1", T0, 10, Lease, Ct);

        Assert.Equal(["ana", "ana", "ben"], due.Select(t => t.Grain.Key).Order());
        Assert.Equal(3, due.Select(t => t.Name).Distinct().Count());
        // A message turn consumes the message like any timer.
        Assert.All(due, t => Assert.StartsWith("msg:", t.Name));
        foreach (var t in due) Assert.IsType<TurnOutcome.Committed>(await TimerTurnAsync(store, t, T0, _ => Write("{}")));
        Assert.Equal(0, (await store.GetTimerBacklogAsync(T0, Ct)).Total);
    }

    // ---------------------------------------------------------------- timer claims

    [Fact]
    public async Task ALeasedTimerIsNotHandedToASecondOwnerUntilTheLeaseExpires()
    {
        var store = await CreateStoreAsync();
        await CommandAsync(store, Client("ana"), T0, Write("{}", timers: [new("day2", T0, "{}")]));

        var first = await ClaimOneAsync(store, "w1", T0);
        Assert.Empty(await store.ClaimDueTimersAsync("w2", T0 + Lease - TimeSpan.FromMilliseconds(1), 10, Lease, Ct));

        // w1 died: its lease runs out and w2 takes over with a newer attempt.
        var second = await ClaimOneAsync(store, "w2", T0 + Lease);
        Assert.Equal(first.Attempt + 1, second.Attempt);
        Assert.Equal((first.Grain, first.Name), (second.Grain, second.Name));

        // w1 wakes up late: fenced. w2's turn goes through, once.
        Assert.IsType<TurnOutcome.Fenced>(await TimerTurnAsync(store, first, T0 + Lease, _ => Write("{}")));
        Assert.Equal(new TurnOutcome.Committed(2), await TimerTurnAsync(store, second, T0 + Lease, _ => Write("{}")));
        Assert.IsType<TurnOutcome.Fenced>(await TimerTurnAsync(store, second, T0 + Lease, _ => Write("{}")));
    }

    [Fact]
    public async Task ClaimTakesTheOldestDueTimersFirstUpToMax()
    {
        var store = await CreateStoreAsync();
        var offsets = new[] { 3, 1, 5, 2, 4 };
        await CommandAsync(store, Client("ana"), T0,
            Write("{}", timers: offsets.Select(m => new TimerWrite($"t{m}", T0.AddMinutes(-m), "{}")).ToList()));

        var first = await store.ClaimDueTimersAsync("w1", T0, 3, Lease, Ct);
        var rest = await store.ClaimDueTimersAsync("w1", T0, 3, Lease, Ct);

        Assert.Equal(["t5", "t4", "t3"], first.Select(t => t.Name));
        Assert.Equal(["t2", "t1"], rest.Select(t => t.Name));
        Assert.All(first.Concat(rest), t => Assert.Equal(1, t.Attempt));
    }

    [Fact]
    public async Task FutureTimersAreNotClaimed()
    {
        var store = await CreateStoreAsync();
        await CommandAsync(store, Client("ana"), T0, Write("{}", timers: [new("day2", T0.AddDays(2), "{}")]));

        Assert.Empty(await store.ClaimDueTimersAsync("w1", T0.AddDays(2).AddMilliseconds(-1), 10, Lease, Ct));
        Assert.Equal(T0.AddDays(2), (await ClaimOneAsync(store, "w1", T0.AddDays(2))).DueAt);
    }

    [Fact]
    public async Task ReleasingLeasesMakesThatOwnersRowsClaimableAtOnce()
    {
        var store = await CreateStoreAsync();
        await CommandAsync(store, Client("ana"), T0, Write("{}",
            timers: [new("a", T0.AddSeconds(-2), "{}"), new("b", T0.AddSeconds(-1), "{}")],
            outbox: [Sms("ana:1")]));
        var heldByW1 = Assert.Single(await store.ClaimDueTimersAsync("w1", T0, 1, Lease, Ct));
        var heldByW2 = Assert.Single(await store.ClaimDueTimersAsync("w2", T0, 1, Lease, Ct));
        var outbox = Assert.Single(await store.ClaimOutboxAsync("w1", T0, 10, Lease, Ct));

        await store.ReleaseLeasesAsync("w1", Ct);

        var retaken = await ClaimOneAsync(store, "w3", T0); // w2's lease still holds
        Assert.Equal(("a", heldByW1.Attempt + 1), (retaken.Name, retaken.Attempt));
        Assert.Equal("b", heldByW2.Name);
        var outboxAgain = Assert.Single(await store.ClaimOutboxAsync("w3", T0, 10, Lease, Ct));
        Assert.Equal((outbox.Id, outbox.Attempt + 1), (outboxAgain.Id, outboxAgain.Attempt));
    }

    [Fact]
    public async Task TimerBacklogCountsDueTimersAndTheOldestLag()
    {
        var store = await CreateStoreAsync();
        Assert.Equal(new TimerBacklog(0, TimeSpan.Zero, 0), await store.GetTimerBacklogAsync(T0, Ct));

        await CommandAsync(store, Client("ana"), T0, Write("{}", timers:
            [new("late", T0.AddMinutes(-5), "{}"), new("now", T0, "{}"), new("later", T0.AddHours(1), "{}")]));
        await ClaimOneAsync(store, "w1", T0.AddMinutes(-5)); // leased timers are still backlog

        Assert.Equal(new TimerBacklog(2, TimeSpan.FromMinutes(5), 3), await store.GetTimerBacklogAsync(T0, Ct));
    }

    [Fact]
    public async Task OutboxBacklogCountsPendingAndDueRowsPerChannel()
    {
        var store = await CreateStoreAsync();
        Assert.Empty(await store.GetOutboxBacklogAsync(T0, Ct));

        var email = new OutboxWrite("e1", "email", "ava@example.com", "Prep", "Bring it", "day6-prep", null);
        await CommandAsync(store, Client("ana"), T0, Write("{}", outbox: [Sms("s1"), Sms("s2"), Sms("s3"), email]));
        await CommandAsync(store, Client("ben"), T0.AddMinutes(1), Write("{}", outbox: [Sms("s4")]));
        var claimed = await store.ClaimOutboxAsync("w1", T0, 10, Lease, Ct);
        var s1 = claimed.Single(o => o.IdempotencyKey == "s1");
        var e1 = claimed.Single(o => o.IdempotencyKey == "e1");
        // Sent and failed rows are no longer backlog; a row waiting for its retry is pending but not due.
        await store.CompleteOutboxAsync(s1.Id, s1.Attempt, new OutboxResult.Sent("SM1", "queued"), T0, Ct);
        var s2 = claimed.Single(o => o.IdempotencyKey == "s2");
        await store.CompleteOutboxAsync(s2.Id, s2.Attempt, new OutboxResult.Failed("blocked", "21610"), T0, Ct);
        await store.CompleteOutboxAsync(e1.Id, e1.Attempt, new OutboxResult.Retry(T0.AddHours(1), "smtp timeout"), T0, Ct);

        // s3 is leased but unsent (still due: a lease is not a send); s4 became due a minute later.
        var backlog = await store.GetOutboxBacklogAsync(T0.AddMinutes(10), Ct);
        Assert.Equal(
            [new OutboxBacklog("email", 1, 0, TimeSpan.Zero), new OutboxBacklog("sms", 2, 2, TimeSpan.FromMinutes(10))],
            backlog.OrderBy(b => b.Channel));
        Assert.Equal(new OutboxBacklog("email", 1, 1, TimeSpan.FromMinutes(5)),
            (await store.GetOutboxBacklogAsync(T0.AddMinutes(65), Ct)).Single(b => b.Channel == "email"));
    }

    // ---------------------------------------------------------------- outbox

    [Fact]
    public async Task OutboxClaimLeasesDueRowsAndBumpsTheirAttempt()
    {
        var store = await CreateStoreAsync();
        await CommandAsync(store, Client("ana"), T0, Write("{}", outbox: [Sms("k1"), Sms("k2")]));

        var claimed = await store.ClaimOutboxAsync("w1", T0, 10, Lease, Ct);
        Assert.Equal(["k1", "k2"], claimed.Select(o => o.IdempotencyKey));
        Assert.All(claimed, o => Assert.Equal((1, Client("ana"), "sms", "+15550100", T0),
            (o.Attempt, o.Grain, o.Channel, o.Recipient, o.CreatedAt)));
        Assert.Empty(await store.ClaimOutboxAsync("w2", T0.AddSeconds(29), 10, Lease, Ct));

        var retaken = await store.ClaimOutboxAsync("w2", T0 + Lease, 1, Lease, Ct);
        Assert.Equal(("k1", 2), (Assert.Single(retaken).IdempotencyKey, retaken[0].Attempt));
    }

    [Fact]
    public async Task CompletingAnOutboxRowAsSentRecordsTheProviderAndStopsClaims()
    {
        var store = await CreateStoreAsync();
        await CommandAsync(store, Client("ana"), T0, Write("{}", outbox: [Sms("k1")]));
        var claimed = Assert.Single(await store.ClaimOutboxAsync("w1", T0, 10, Lease, Ct));

        Assert.True(await store.CompleteOutboxAsync(claimed.Id, claimed.Attempt,
            new OutboxResult.Sent("SM123", "queued"), T0.AddSeconds(1), Ct));

        var row = await SingleOutboxAsync(store);
        Assert.Equal((OutboxStatus.Sent, "SM123", "queued", T0.AddSeconds(1)),
            (row.Status, row.ProviderMessageId, row.ProviderStatus, row.SentAt));
        Assert.Empty(await store.ClaimOutboxAsync("w2", T0.AddHours(1), 10, Lease, Ct));
        Assert.False(await store.CompleteOutboxAsync(claimed.Id, claimed.Attempt,
            new OutboxResult.Failed("late duplicate", null), T0.AddSeconds(2), Ct));
    }

    [Fact]
    public async Task RetryKeepsTheRowPendingUntilItsRetryTime()
    {
        var store = await CreateStoreAsync();
        await CommandAsync(store, Client("ana"), T0, Write("{}", outbox: [Sms("k1")]));
        var claimed = Assert.Single(await store.ClaimOutboxAsync("w1", T0, 10, Lease, Ct));
        var retryAt = T0.AddMinutes(5);

        Assert.True(await store.CompleteOutboxAsync(claimed.Id, claimed.Attempt,
            new OutboxResult.Retry(retryAt, "smtp timeout"), T0, Ct));

        var row = await SingleOutboxAsync(store);
        Assert.Equal((OutboxStatus.Pending, "smtp timeout"), (row.Status, row.Error));
        Assert.Empty(await store.ClaimOutboxAsync("w1", retryAt.AddMilliseconds(-1), 10, Lease, Ct));
        var again = Assert.Single(await store.ClaimOutboxAsync("w2", retryAt, 10, Lease, Ct));
        Assert.Equal(claimed.Attempt + 1, again.Attempt);
    }

    [Fact]
    public async Task FailedRecordsTheErrorAndCodeAndStopsClaims()
    {
        var store = await CreateStoreAsync();
        await CommandAsync(store, Client("ana"), T0, Write("{}", outbox: [Sms("k1")]));
        var claimed = Assert.Single(await store.ClaimOutboxAsync("w1", T0, 10, Lease, Ct));

        Assert.True(await store.CompleteOutboxAsync(claimed.Id, claimed.Attempt,
            new OutboxResult.Failed("sender blocked for this number", "21610"), T0, Ct));

        var row = await SingleOutboxAsync(store);
        Assert.Equal((OutboxStatus.Failed, "sender blocked for this number", "21610", (DateTimeOffset?)null),
            (row.Status, row.Error, row.ErrorCode, row.SentAt));
        Assert.Empty(await store.ClaimOutboxAsync("w1", T0.AddDays(1), 10, Lease, Ct));
    }

    [Fact]
    public async Task CompletionWithAStaleAttemptIsIgnored()
    {
        var store = await CreateStoreAsync();
        await CommandAsync(store, Client("ana"), T0, Write("{}", outbox: [Sms("k1")]));
        var first = Assert.Single(await store.ClaimOutboxAsync("w1", T0, 10, Lease, Ct));
        var second = Assert.Single(await store.ClaimOutboxAsync("w2", T0 + Lease, 10, Lease, Ct));

        Assert.False(await store.CompleteOutboxAsync(first.Id, first.Attempt,
            new OutboxResult.Sent("SM-stale", "queued"), T0 + Lease, Ct));
        Assert.Equal(OutboxStatus.Pending, (await SingleOutboxAsync(store)).Status);

        Assert.True(await store.CompleteOutboxAsync(second.Id, second.Attempt,
            new OutboxResult.Sent("SM-real", "queued"), T0 + Lease, Ct));
        Assert.Equal("SM-real", (await SingleOutboxAsync(store)).ProviderMessageId);
    }

    [Fact]
    public async Task CompletionsRecordedTogetherAnswerEachOnItsOwn()
    {
        var store = await CreateStoreAsync();
        await CommandAsync(store, Client("ana"), T0, Write("{}", outbox: [Sms("k1"), Sms("k2"), Sms("k3"), Sms("k4")]));
        var stale = (await store.ClaimOutboxAsync("w1", T0, 10, Lease, Ct)).Single(o => o.IdempotencyKey == "k4");
        // w1's lease ran out and w2 took over every row: w1's result for k4 is stale.
        var claimed = (await store.ClaimOutboxAsync("w2", T0 + Lease, 10, Lease, Ct)).ToDictionary(o => o.IdempotencyKey);

        var recorded = await store.CompleteOutboxAsync(
        [
            new OutboxCompletion(claimed["k1"].Id, claimed["k1"].Attempt, new OutboxResult.Sent("SM1", "queued"), T0.AddSeconds(1)),
            new OutboxCompletion(stale.Id, stale.Attempt, new OutboxResult.Sent("SM-stale", "queued"), T0.AddSeconds(1)),
            new OutboxCompletion(claimed["k2"].Id, claimed["k2"].Attempt, new OutboxResult.Failed("blocked", "21610"), T0.AddSeconds(2)),
            new OutboxCompletion(claimed["k3"].Id, claimed["k3"].Attempt, new OutboxResult.Retry(T0.AddMinutes(5), "timeout"), T0.AddSeconds(3)),
            // The same claim completed twice (a caller's bug): the first completion counts.
            new OutboxCompletion(claimed["k1"].Id, claimed["k1"].Attempt, new OutboxResult.Sent("SM1-again", "queued"), T0.AddSeconds(4)),
        ], Ct);

        Assert.Equal([true, false, true, true, false], recorded);
        var rows = (await store.QueryOutboxAsync(new OutboxQuery("org1"), Ct)).ToDictionary(o => o.IdempotencyKey);
        Assert.Equal((OutboxStatus.Sent, "SM1"), (rows["k1"].Status, rows["k1"].ProviderMessageId));
        Assert.Equal((OutboxStatus.Failed, "21610"), (rows["k2"].Status, rows["k2"].ErrorCode));
        Assert.Equal((OutboxStatus.Pending, "timeout"), (rows["k3"].Status, rows["k3"].Error));
        Assert.Equal((OutboxStatus.Pending, null), (rows["k4"].Status, rows["k4"].ProviderMessageId));
        Assert.True(await store.CompleteOutboxAsync(claimed["k4"].Id, claimed["k4"].Attempt, new OutboxResult.Sent("SM4", "queued"), T0 + Lease, Ct));
    }

    [Fact]
    public async Task DeliveryStatusIsUpdatedByProviderMessageId()
    {
        var store = await CreateStoreAsync();
        await CommandAsync(store, Client("ana"), T0, Write("{}", outbox: [Sms("k1")]));
        var claimed = Assert.Single(await store.ClaimOutboxAsync("w1", T0, 10, Lease, Ct));
        await store.CompleteOutboxAsync(claimed.Id, claimed.Attempt, new OutboxResult.Sent("SM1", "queued"), T0, Ct);

        Assert.True(await store.UpdateDeliveryStatusAsync("SM1", "undelivered", "30003", T0.AddMinutes(1), Ct));
        Assert.True(await store.UpdateDeliveryStatusAsync("SM1", "failed", null, T0.AddMinutes(2), Ct));
        Assert.False(await store.UpdateDeliveryStatusAsync("SM-unknown", "delivered", null, T0, Ct));

        var row = await SingleOutboxAsync(store);
        Assert.Equal((OutboxStatus.Sent, "failed", "30003", T0.AddMinutes(2)),
            (row.Status, row.ProviderStatus, row.ErrorCode, row.UpdatedAt));
    }

    [Fact]
    public async Task AClaimedOutboxRowCarriesItsPromptId()
    {
        var store = await CreateStoreAsync();
        await CommandAsync(store, Client("ana"), T0, Write("{}", outbox:
            [Sms("k1"), new("k2", "email", "ana@example.com", "Prep", "body", "day6", null)]));

        var claimed = await store.ClaimOutboxAsync("w1", T0, 10, Lease, Ct);

        Assert.Equal([("k1", "p1"), ("k2", null)], claimed.Select(o => (o.IdempotencyKey, o.PromptId)));
    }

    [Fact]
    public async Task AnOutboxRowIsFoundByItsProviderMessageId()
    {
        var store = await CreateStoreAsync();
        await CommandAsync(store, Client("ana", org: "org2"), T0, Write("{}", outbox: [Sms("k1"), Sms("k2")]));
        var claimed = await store.ClaimOutboxAsync("w1", T0, 10, Lease, Ct);
        await store.CompleteOutboxAsync(claimed[1].Id, claimed[1].Attempt, new OutboxResult.Sent("SM2", "queued"), T0, Ct);

        var row = await store.FindOutboxByProviderMessageIdAsync("SM2", Ct);

        Assert.Equal(("k2", Client("ana", org: "org2"), "p1", OutboxStatus.Sent), (row?.IdempotencyKey, row?.Grain, row?.PromptId, row?.Status));
        Assert.Null(await store.FindOutboxByProviderMessageIdAsync("SM-unknown", Ct));
    }

    [Fact]
    public async Task OutboxQueryFiltersAndPagesNewestFirst()
    {
        var store = await CreateStoreAsync();
        for (var i = 1; i <= 5; i++)
            await CommandAsync(store, Client(i % 2 == 0 ? "ben" : "ana"), T0.AddMinutes(i), Write("{}", outbox:
                [new($"k{i}", i == 5 ? "email" : "sms", "x", i == 5 ? "Prep" : null, "body", "t", null)]));
        await CommandAsync(store, Client("zed", org: "org2"), T0, Write("{}", outbox: [Sms("other-org")]));
        var firstId = (await store.QueryOutboxAsync(new OutboxQuery("org1") { Limit = 100 }, Ct))[^1].Id;

        var page1 = await store.QueryOutboxAsync(new OutboxQuery("org1") { Limit = 2 }, Ct);
        var page2 = await store.QueryOutboxAsync(new OutboxQuery("org1") { Limit = 2, BeforeId = page1[^1].Id }, Ct);
        var page3 = await store.QueryOutboxAsync(new OutboxQuery("org1") { Limit = 2, BeforeId = page2[^1].Id }, Ct);

        Assert.Equal(["k5", "k4"], page1.Select(o => o.IdempotencyKey));
        Assert.Equal(["k3", "k2"], page2.Select(o => o.IdempotencyKey));
        Assert.Equal(["k1"], page3.Select(o => o.IdempotencyKey));
        Assert.Equal(firstId, page3[0].Id);
        Assert.Equal(["k4", "k2"], (await store.QueryOutboxAsync(new OutboxQuery("org1") { GrainKey = "ben" }, Ct))
            .Select(o => o.IdempotencyKey));
        var email = Assert.Single(await store.QueryOutboxAsync(new OutboxQuery("org1") { Channel = "email" }, Ct));
        Assert.Equal(("k5", "Prep"), (email.IdempotencyKey, email.Subject));
        Assert.Empty(await store.QueryOutboxAsync(new OutboxQuery("org1") { Status = OutboxStatus.Sent }, Ct));
        Assert.Equal(5, (await store.QueryOutboxAsync(new OutboxQuery("org1") { Status = OutboxStatus.Pending }, Ct)).Count);
    }

    // ---------------------------------------------------------------- read side

    [Fact]
    public async Task QueryGrainsReturnsTheProjectionFromItsColumns()
    {
        var store = await CreateStoreAsync();
        var projection = new GrainProjection
        {
            DisplayName = "Ana Silva", CohortId = "c1", CoachId = "kim", Status = "stuck",
            StatusSince = T0.AddDays(-1), StatusDetail = "rated 2 on Thu: 'no time for calls'", Risk = 80,
            LastRating = 2, NextSessionAt = T0.AddDays(3), EarliestOpenActionDue = T0.AddDays(-2),
            PromptsSent = 4, Replies = 3, TouchesSent = 5, ActionsTotal = 3, ActionsDone = 1, Escalations = 2,
            EscalationsCaught = 1, Phone = "+15550100", Email = "ana@example.com",
        };
        await CommandAsync(store, Client("ana"), T0, Write("""{"ignored":"by queries"}""", projection));

        var row = Assert.Single(await store.QueryGrainsAsync(new GrainQuery("org1", "ClientLoop"), Ct));

        Assert.Equal((Client("ana"), 1L, T0), (row.Id, row.Version, row.UpdatedAt));
        Assert.Equal(projection, row.Projection);
    }

    [Fact]
    public async Task QueryGrainsFiltersByOrgTypeCohortCoachStatusPhoneAndKeys()
    {
        var store = await CreateStoreAsync();
        async Task Add(GrainId id, string cohort, string coach, string status, string phone) =>
            await CommandAsync(store, id, T0, Write("{}", new GrainProjection
                { CohortId = cohort, CoachId = coach, Status = status, Phone = phone }));
        await Add(Client("ana"), "c1", "kim", "on_track", "+1001");
        await Add(Client("ben"), "c1", "lee", "stuck", "+1002");
        await Add(Client("cy"), "c2", "kim", "stuck", "+1003");
        await Add(Client("ana", org: "org2"), "c1", "kim", "stuck", "+1001");
        await Add(Coach("kim"), "c1", "kim", "stuck", "+1009");

        async Task<string[]> Keys(GrainQuery q) =>
            (await store.QueryGrainsAsync(q, Ct)).Select(r => r.Id.Key).ToArray();
        var all = new GrainQuery("org1", "ClientLoop");

        Assert.Equal(["ana", "ben", "cy"], await Keys(all));
        Assert.Equal(["ana", "ben"], await Keys(all with { CohortId = "c1" }));
        Assert.Equal(["ana", "cy"], await Keys(all with { CoachId = "kim" }));
        Assert.Equal(["ben", "cy"], await Keys(all with { Status = "stuck" }));
        Assert.Equal(["cy"], await Keys(all with { CoachId = "kim", Status = "stuck" }));
        Assert.Equal(["ben"], await Keys(all with { Phone = "+1002" }));
        Assert.Equal(["ana", "cy"], await Keys(all with { Keys = ["cy", "ana", "nobody"] }));
        Assert.Empty(await Keys(all with { Keys = [] }));
        Assert.Equal(["ben", "cy"], await Keys(all with { Offset = 1, Limit = 5 }));
        Assert.Equal(["ana"], await Keys(all with { Limit = 1 }));
        Assert.Equal(["kim"], await Keys(new GrainQuery("org1", "Coach")));
    }

    [Fact]
    public async Task GrainsAreFoundByPhoneAcrossOrgsNewestFirst()
    {
        var store = await CreateStoreAsync();
        async Task Add(GrainId id, string? phone, DateTimeOffset at) =>
            await CommandAsync(store, id, at, Write("{}", new GrainProjection { Status = "on-track", Phone = phone }));
        await Add(Client("ana"), "+1001", T0);
        await Add(Client("bea", org: "org2"), "+1001", T0.AddMinutes(2));
        await Add(Client("cy", org: "org3"), "+1001", T0.AddMinutes(1));
        await Add(Client("dan"), "+1002", T0.AddMinutes(3));
        await Add(Client("eve"), null, T0.AddMinutes(4));
        await Add(Coach("kim"), "+1001", T0.AddMinutes(5));

        var found = await store.FindGrainsByPhoneAsync("ClientLoop", "+1001", 10, Ct);

        Assert.Equal([Client("bea", org: "org2"), Client("cy", org: "org3"), Client("ana")], found.Select(r => r.Id));
        Assert.Equal(("+1001", "on-track"), (found[0].Projection.Phone, found[0].Projection.Status));
        Assert.Single(await store.FindGrainsByPhoneAsync("ClientLoop", "+1001", 1, Ct));
        Assert.Empty(await store.FindGrainsByPhoneAsync("ClientLoop", "+1009", 10, Ct));
    }

    [Fact]
    public async Task QueryGrainsOrdersByRiskThenLongestInStatus()
    {
        var store = await CreateStoreAsync();
        async Task Add(string key, int risk, int hoursInStatus) =>
            await CommandAsync(store, Client(key), T0, Write("{}", new GrainProjection
                { Risk = risk, StatusSince = T0.AddHours(-hoursInStatus) }));
        await Add("a", 10, 1);
        await Add("b", 90, 1);
        await Add("c", 90, 48);
        await Add("d", 50, 5);
        await Add("e", 50, 5);

        var query = new GrainQuery("org1", "ClientLoop") { OrderByRisk = true };
        var ordered = (await store.QueryGrainsAsync(query, Ct)).Select(r => r.Id.Key);
        var page = (await store.QueryGrainsAsync(query with { Offset = 1, Limit = 2 }, Ct)).Select(r => r.Id.Key);

        Assert.Equal(["c", "b", "d", "e", "a"], ordered);
        Assert.Equal(["b", "d"], page);
    }

    [Fact]
    public async Task CohortStatsSumTheClientProjectionsPerCohort()
    {
        var store = await CreateStoreAsync();
        async Task Add(GrainId id, string? cohort, string status, int prompts, int replies, DateTimeOffset? actionDue) =>
            await CommandAsync(store, id, T0, Write("{}", new GrainProjection
            {
                CohortId = cohort, Status = status, PromptsSent = prompts, Replies = replies, TouchesSent = prompts + 1,
                ActionsTotal = 3, ActionsDone = 2, Escalations = status == "stuck" ? 1 : 0,
                EscalationsCaught = status == "stuck" ? 1 : 0, EarliestOpenActionDue = actionDue,
            }));
        await Add(Client("ana"), "c1", "on_track", 4, 3, T0.AddDays(1));
        await Add(Client("ben"), "c1", "stuck", 4, 1, T0.AddDays(-1));
        await Add(Client("cy"), "c1", "silent", 2, 0, T0.AddMinutes(-1));
        await Add(Client("dee"), "c2", "on_track", 1, 1, null);
        await Add(Client("eve", org: "org2"), "c1", "stuck", 9, 9, T0.AddDays(-9));
        await Add(Coach("kim"), "c1", "stuck", 9, 9, T0.AddDays(-9)); // not a ClientLoop

        var stats = await store.GetCohortStatsAsync("org1", null, T0, Ct);

        Assert.Equal(["c1", "c2"], stats.Select(s => s.CohortId));
        var c1 = stats[0];
        Assert.Equal((3, 10, 4, 13, 9, 6, 1, 1, 2), (c1.Clients, c1.PromptsSent, c1.Replies, c1.TouchesSent,
            c1.ActionsTotal, c1.ActionsDone, c1.Escalations, c1.EscalationsCaught, c1.ClientsWithLateActions));
        Assert.Equal(new Dictionary<string, int> { ["on_track"] = 1, ["stuck"] = 1, ["silent"] = 1 },
            c1.ByStatus.OrderBy(kv => kv.Key).ToDictionary());
        Assert.Equal((1, 0), (stats[1].Clients, stats[1].ClientsWithLateActions));

        var onlyC2 = Assert.Single(await store.GetCohortStatsAsync("org1", ["c2", "no-such-cohort"], T0, Ct));
        Assert.Equal(("c2", 1), (onlyC2.CohortId, onlyC2.ByStatus["on_track"]));
        // "Late" is decided at query time: an hour earlier, only ben's action was overdue.
        Assert.Equal(1, (await store.GetCohortStatsAsync("org1", ["c1"], T0.AddHours(-1), Ct))[0].ClientsWithLateActions);
    }

    // ---------------------------------------------------------------- api keys, schema

    [Fact]
    public async Task ApiKeysRoundTripByHash()
    {
        var store = await CreateStoreAsync();
        var key = new ApiKeyRecord("sha256:abc", "cg_live_ab", "org1", "coach", "kim", "Kim's laptop", T0, null);
        var revoked = new ApiKeyRecord("sha256:def", "cg_live_de", "org1", "admin", null, "old", T0, T0.AddDays(1));

        await store.CreateApiKeyAsync(key, Ct);
        await store.CreateApiKeyAsync(revoked, Ct);

        Assert.Equal(key, await store.FindApiKeyAsync("sha256:abc", Ct));
        Assert.Equal(revoked, await store.FindApiKeyAsync("sha256:def", Ct));
        Assert.Null(await store.FindApiKeyAsync("sha256:nope", Ct));
    }

    [Fact]
    public async Task ApiKeysKeepTheirExpiryAndAreFoundByTheirPublicId()
    {
        var store = await CreateStoreAsync();
        var link = new ApiKeyRecord("hash-of-a-link-0123456789", "cgl_abcdef", "org1", "client", "ana", "client link", T0, null)
        {
            ExpiresAt = T0.AddDays(7),
        };
        await store.CreateApiKeyAsync(link, Ct);

        var found = await store.FindApiKeyAsync(link.KeyHash, Ct);
        Assert.Equal(link, found);
        Assert.Equal("key_hash-of-a-link-0", found!.KeyId);
        Assert.True(found.IsActiveAt(T0.AddDays(7).AddTicks(-1)));
        Assert.False(found.IsActiveAt(T0.AddDays(7)));
    }

    [Fact]
    public async Task ListApiKeysFiltersByOrgRoleSubjectAndActivityNewestFirst()
    {
        var store = await CreateStoreAsync();
        ApiKeyRecord Key(string hash, string org, string role, string? subject, int minutes) =>
            new(hash, "cg_" + hash, org, role, subject, "k", T0.AddMinutes(minutes), null);
        await store.CreateApiKeyAsync(Key("h-admin", "org1", "org-admin", null, 0), Ct);
        await store.CreateApiKeyAsync(Key("h-kim", "org1", "coach", "kim", 1), Ct);
        await store.CreateApiKeyAsync(Key("h-ana-1", "org1", "client", "ana", 2) with { ExpiresAt = T0.AddHours(1) }, Ct);
        await store.CreateApiKeyAsync(Key("h-ana-2", "org1", "client", "ana", 3), Ct);
        await store.CreateApiKeyAsync(Key("h-other", "org2", "org-admin", null, 4), Ct);
        await store.RevokeApiKeyAsync("org1", ApiKeyRecord.IdFor("h-kim"), T0.AddMinutes(30), Ct);

        Assert.Equal(["h-ana-2", "h-ana-1", "h-kim", "h-admin"],
            (await store.ListApiKeysAsync(new ApiKeyQuery("org1"), Ct)).Select(k => k.KeyHash));
        Assert.Equal(["h-ana-2", "h-ana-1"],
            (await store.ListApiKeysAsync(new ApiKeyQuery("org1") { Role = "client", SubjectId = "ana" }, Ct)).Select(k => k.KeyHash));
        // At T0+20min the revocation (T0+30min) has not happened yet; at T0+2h it has and the first link has expired.
        Assert.Equal(["h-ana-2", "h-ana-1", "h-kim", "h-admin"],
            (await store.ListApiKeysAsync(new ApiKeyQuery("org1") { ActiveAt = T0.AddMinutes(20) }, Ct)).Select(k => k.KeyHash));
        Assert.Equal(["h-ana-2", "h-admin"],
            (await store.ListApiKeysAsync(new ApiKeyQuery("org1") { ActiveAt = T0.AddHours(2) }, Ct)).Select(k => k.KeyHash));
        Assert.Single(await store.ListApiKeysAsync(new ApiKeyQuery("org1") { Limit = 1 }, Ct));
    }

    [Fact]
    public async Task RevokingAKeyWorksOnlyInItsOwnOrgAndOnlyOnce()
    {
        var store = await CreateStoreAsync();
        var key = new ApiKeyRecord("h-1", "cg_h1", "org1", "coach", "kim", "k", T0, null);
        await store.CreateApiKeyAsync(key, Ct);

        Assert.False(await store.RevokeApiKeyAsync("org2", key.KeyId, T0.AddMinutes(1), Ct));
        Assert.Null((await store.FindApiKeyAsync("h-1", Ct))!.RevokedAt);
        Assert.True(await store.RevokeApiKeyAsync("org1", key.KeyId, T0.AddMinutes(2), Ct));
        Assert.False(await store.RevokeApiKeyAsync("org1", key.KeyId, T0.AddMinutes(3), Ct));
        Assert.Equal(T0.AddMinutes(2), (await store.FindApiKeyAsync("h-1", Ct))!.RevokedAt);
        Assert.False(await store.RevokeApiKeyAsync("org1", "key_nope", T0, Ct));
    }

    [Fact]
    public async Task RevokingASubjectsKeysRevokesAllOfThemAndNoOthers()
    {
        var store = await CreateStoreAsync();
        await store.CreateApiKeyAsync(new ApiKeyRecord("l1", "cgl_1", "org1", "client", "ana", "link", T0, null), Ct);
        await store.CreateApiKeyAsync(new ApiKeyRecord("l2", "cgl_2", "org1", "client", "ana", "link", T0, null), Ct);
        await store.CreateApiKeyAsync(new ApiKeyRecord("l3", "cgl_3", "org1", "client", "ben", "link", T0, null), Ct);
        await store.CreateApiKeyAsync(new ApiKeyRecord("l4", "cgl_4", "org2", "client", "ana", "link", T0, null), Ct);

        Assert.Equal(2, await store.RevokeApiKeysOfSubjectAsync("org1", "ana", T0.AddMinutes(1), Ct));
        Assert.Equal(0, await store.RevokeApiKeysOfSubjectAsync("org1", "ana", T0.AddMinutes(2), Ct));

        Assert.Equal(T0.AddMinutes(1), (await store.FindApiKeyAsync("l2", Ct))!.RevokedAt);
        Assert.Null((await store.FindApiKeyAsync("l3", Ct))!.RevokedAt);
        Assert.Null((await store.FindApiKeyAsync("l4", Ct))!.RevokedAt);
    }

    // ---------------------------------------------------------------- audit log, erasure

    private static AuditWrite Audit(string action, string target = "ana", string org = "org1", string? detail = null) =>
        new(org, "coach", "kim", action, "client", target, detail);

    [Fact]
    public async Task ATurnWritesItsAuditEntriesWithItsChangeAndARejectedTurnWritesNone()
    {
        var store = await CreateStoreAsync();

        await CommandAsync(store, Client("ana"), T0, Write("""{"n":1}""") with { Audit = [Audit("session.logged", detail: "session 1")] });
        await CommandAsync(store, Client("ana"), T0.AddMinutes(1), new TurnDecision.Reject("invalid", "no"));

        var entry = Assert.Single(await store.QueryAuditAsync(new AuditQuery("org1"), Ct));
        Assert.Equal(new AuditEntry(entry.Id, "org1", T0, "coach", "kim", "session.logged", "client", "ana", "session 1"), entry);
    }

    [Fact]
    public async Task AuditEntriesComeNewestFirstPerOrgAndFilterByTargetActionActorAndPage()
    {
        var store = await CreateStoreAsync();
        await store.AppendAuditAsync([Audit("client.enrolled"), Audit("client.enrolled", target: "ben")], T0, Ct);
        await store.AppendAuditAsync([Audit("session.logged")], T0.AddMinutes(1), Ct);
        await store.AppendAuditAsync([Audit("client.enrolled", org: "org2")], T0.AddMinutes(2), Ct);
        await store.AppendAuditAsync([new AuditWrite("org1", "org-admin", "key_1", "key.issued", "key", "key_2")], T0.AddMinutes(3), Ct);

        var all = await store.QueryAuditAsync(new AuditQuery("org1"), Ct);
        Assert.Equal(["key.issued", "session.logged", "client.enrolled", "client.enrolled"], all.Select(e => e.Action));
        Assert.Equal([T0.AddMinutes(3), T0.AddMinutes(1), T0, T0], all.Select(e => e.At));
        Assert.Equal(2, (await store.QueryAuditAsync(new AuditQuery("org1") { TargetId = "ana" }, Ct)).Count);
        Assert.Equal(2, (await store.QueryAuditAsync(new AuditQuery("org1") { Action = "client.enrolled" }, Ct)).Count);
        Assert.Equal("key_2", Assert.Single(await store.QueryAuditAsync(new AuditQuery("org1") { ActorId = "key_1" }, Ct)).TargetId);
        var page = await store.QueryAuditAsync(new AuditQuery("org1") { Limit = 2 }, Ct);
        Assert.Equal(2, page.Count);
        Assert.Equal(all.Skip(2).Select(e => e.Id), (await store.QueryAuditAsync(new AuditQuery("org1") { BeforeId = page[^1].Id }, Ct)).Select(e => e.Id));
    }

    [Fact]
    public async Task ErasingAGrainsPersonalDataScrubsItsOutboxTimersMessagesAuditAndLinksOnly()
    {
        var store = await CreateStoreAsync();
        var ana = Client("cli_ana");
        var ben = Client("cli_ben");
        OutboxWrite Touch(string key, string to) => new(key, "sms", to, "Your week", $"Hi, how did the calls go? ({to})", "day2", "p1");
        await CommandAsync(store, ana, T0, Write("""{"name":"Ana"}""", timers: [new("day5", T0.AddDays(3), "{}")],
            outbox: [Touch("ana/t1", "+15550101"), Touch("ana/t2", "+15550101")]) with { Audit = [Audit("client.enrolled", "cli_ana", detail: "sms consent")] });
        await CommandAsync(store, ben, T0, Write("""{"name":"Ben"}""", timers: [new("day5", T0.AddDays(3), "{}")],
            outbox: [Touch("ben/t1", "+15550202")]) with { Audit = [Audit("client.enrolled", "cli_ben", detail: "sms consent")] });
        // One of ana's touches was sent; the other is still pending. Messages in flight: one to ana, one naming her.
        var claimed = await store.ClaimOutboxAsync("w", T0, 1, Lease, Ct);
        await store.CompleteOutboxAsync(claimed[0].Id, claimed[0].Attempt, new OutboxResult.Sent("SM1", "delivered"), T0, Ct);
        await store.EnqueueMessagesAsync([
            new MessageWrite(ana, """{"$type":"slotOffered"}"""),
            new MessageWrite(Coach("kim"), """{"$type":"clientEscalated","clientId":"cli_ana","clientName":"Ana"}"""),
            new MessageWrite(Coach("kim"), """{"$type":"clientEscalated","clientId":"cli_ben","clientName":"Ben"}"""),
        ], T0, Ct);
        await store.CreateApiKeyAsync(new ApiKeyRecord("link-ana", "cgl_a", "org1", "client", "cli_ana", "client link", T0, null), Ct);
        await store.CreateApiKeyAsync(new ApiKeyRecord("link-ben", "cgl_b", "org1", "client", "cli_ben", "client link", T0, null), Ct);

        var result = await store.ErasePersonalDataAsync(ana, T0.AddHours(1), Ct);

        Assert.Equal(new ErasureResult(TimersDeleted: 2, MessagesDeleted: 1, OutboxRowsScrubbed: 2, AuditEntriesScrubbed: 1, KeysRevoked: 1), result);
        var outbox = await store.QueryOutboxAsync(new OutboxQuery("org1") { GrainKey = "cli_ana" }, Ct);
        Assert.All(outbox, o => Assert.Equal(("", null, ""), (o.Recipient, o.Subject, o.Body)));
        Assert.Equal(["failed", "sent"], outbox.Select(o => o.Status).Order());
        Assert.Equal("SM1", outbox.Single(o => o.Status == "sent").ProviderMessageId);
        Assert.DoesNotContain(await store.ClaimOutboxAsync("w", T0.AddDays(1), 10, Lease, Ct), o => o.Grain == ana);
        var bens = Assert.Single(await store.QueryOutboxAsync(new OutboxQuery("org1") { GrainKey = "cli_ben" }, Ct));
        Assert.Equal("+15550202", bens.Recipient);
        // Left: ben's day5 reminder and the alert naming ben. Ana's state row is the turn's business, not this call's.
        var timers = await store.ClaimDueTimersAsync("w", T0.AddDays(4), 10, Lease, Ct);
        Assert.Equal(["cli_ben", "kim"], timers.Select(t => t.Grain.Key).Order());
        Assert.DoesNotContain(timers, t => t.PayloadJson.Contains("cli_ana", StringComparison.Ordinal));
        Assert.Equal("""{"name":"Ana"}""", (await store.LoadAsync(ana, Ct))!.StateJson);
        var audit = await store.QueryAuditAsync(new AuditQuery("org1"), Ct);
        Assert.Equal([("cli_ana", (string?)null), ("cli_ben", "sms consent")], audit.Select(a => (a.TargetId, a.Detail)).OrderBy(a => a.TargetId));
        Assert.Equal(T0.AddHours(1), (await store.FindApiKeyAsync("link-ana", Ct))!.RevokedAt);
        Assert.Null((await store.FindApiKeyAsync("link-ben", Ct))!.RevokedAt);

        // Idempotent: a second call (a retried DELETE) finds nothing left to delete, scrub or revoke.
        Assert.Equal(new ErasureResult(0, 0, 2, 0, 0), await store.ErasePersonalDataAsync(ana, T0.AddHours(2), Ct));
    }

    [Fact]
    public async Task MigratingTwiceIsHarmlessAndTheStoreIsReady()
    {
        var store = await CreateStoreAsync();
        await CommandAsync(store, Client("ana"), T0, Write("""{"n":1}"""));

        await store.MigrateAsync(Ct);
        await store.MigrateAsync(Ct);

        Assert.True(await store.IsReadyAsync(Ct));
        Assert.Equal(1, (await store.LoadAsync(Client("ana"), Ct))!.Version);
    }

    // ---------------------------------------------------------------- concurrency

    [Fact]
    public async Task ConcurrentWorkersTurnEveryTimerExactlyOnce()
    {
        var store = await CreateStoreAsync();
        var grains = Enumerable.Range(0, 20).Select(i => Client($"c{i:00}")).ToArray();
        await store.EnqueueMessagesAsync(
            Enumerable.Range(0, 200).Select(i => new MessageWrite(grains[i % grains.Length], "{}")).ToList(), T0, Ct);
        var turned = new ConcurrentBag<string>();

        async Task Worker(string owner)
        {
            while (true)
            {
                var batch = await store.ClaimDueTimersAsync(owner, T0, 10, TimeSpan.FromMinutes(5), Ct);
                if (batch.Count == 0) return;
                foreach (var timer in batch)
                {
                    var outcome = await TimerTurnAsync(store, timer, T0, Increment);
                    Assert.IsType<TurnOutcome.Committed>(outcome);
                    turned.Add(timer.Name);
                    // An embedded store may complete every call synchronously; yielding lets the other workers in
                    // between turns, as a real worker's sends would, so the claims really interleave.
                    await Task.Yield();
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(1, 4).Select(w => Task.Run(() => Worker($"w{w}"))));

        Assert.Equal(200, turned.Count);
        Assert.Equal(200, turned.Distinct().Count());
        var counters = 0;
        foreach (var id in grains)
            counters += JsonNode.Parse((await store.LoadAsync(id, Ct))!.StateJson)!["count"]!.GetValue<int>();
        Assert.Equal(200, counters);
        Assert.Equal(0, (await store.GetTimerBacklogAsync(T0, Ct)).Total);

        static TurnDecision Increment(StoredGrain? grain)
        {
            var count = grain is null ? 0 : JsonNode.Parse(grain.StateJson)!["count"]!.GetValue<int>();
            return Write(new JsonObject { ["count"] = count + 1 }.ToJsonString());
        }
    }
}
