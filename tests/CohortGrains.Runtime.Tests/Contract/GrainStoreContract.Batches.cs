using CohortGrains.Runtime.Storage;

namespace CohortGrains.Runtime.Tests.Contract;

/// <summary>Several turns in one transaction (group commit): each turn behaves exactly as it would alone.</summary>
public abstract partial class GrainStoreContract
{
    private static TurnRequest Command(GrainId id, DateTimeOffset now, Func<StoredGrain?, TurnDecision> decide) =>
        new(id, TurnTrigger.FromCommand, now, decide);

    private static TurnRequest OnTimer(ClaimedTimer timer, DateTimeOffset now, Func<StoredGrain?, TurnDecision> decide) =>
        new(timer.Grain, new TurnTrigger.Timer(timer.Name, timer.Attempt), now, decide);

    [Fact]
    public async Task ABatchCommitsEveryTurnAndAnswersInTheOrderGiven()
    {
        var store = await CreateStoreAsync();
        await CommandAsync(store, Client("ana"), T0, Write("""{"n":1}"""));

        // Not in lock order on purpose: the store sorts its locks, the answers keep the caller's order.
        var outcomes = await store.RunTurnsAsync([
            Command(Client("zoe"), T0.AddMinutes(1), g => { Assert.Null(g); return Write("""{"z":1}""", outbox: [Sms("zoe-1")]); }),
            Command(Client("ana"), T0.AddMinutes(1), g => { Assert.Equal(1, g!.Version); return Write("""{"n":2}"""); }),
            Command(Client("bob"), T0.AddMinutes(1), _ => new TurnDecision.Reject("invalid", "no such client")),
        ], Ct);

        Assert.Equal([new TurnOutcome.Committed(1), new TurnOutcome.Committed(2), new TurnOutcome.Rejected("invalid", "no such client")], outcomes);
        Assert.Equal("""{"z":1}""", (await store.LoadAsync(Client("zoe"), Ct))!.StateJson);
        Assert.Equal(new StoredGrain(Client("ana"), """{"n":2}""", 2, T0.AddMinutes(1)), await store.LoadAsync(Client("ana"), Ct));
        Assert.Null(await store.LoadAsync(Client("bob"), Ct));
        Assert.Equal("zoe-1", (await SingleOutboxAsync(store)).IdempotencyKey);
    }

    [Fact]
    public async Task TurnsOfOneGrainInABatchRunInOrderEachOnTheStateBeforeIt()
    {
        var store = await CreateStoreAsync();
        var seen = new List<long?>();

        var outcomes = await store.RunTurnsAsync([
            Command(Client("ana"), T0, g => { seen.Add(g?.Version); return Write("""{"n":1}"""); }),
            Command(Client("ana"), T0.AddSeconds(1), g => { seen.Add(g?.Version); return new TurnDecision.Reject("invalid", "no"); }),
            Command(Client("ana"), T0.AddSeconds(2), g => { seen.Add(g?.Version); Assert.Equal("""{"n":1}""", g!.StateJson); return Write("""{"n":2}"""); }),
        ], Ct);

        Assert.Equal([new TurnOutcome.Committed(1), new TurnOutcome.Rejected("invalid", "no"), new TurnOutcome.Committed(2)], outcomes);
        Assert.Equal([null, 1L, 1L], seen);
        Assert.Equal(new StoredGrain(Client("ana"), """{"n":2}""", 2, T0.AddSeconds(2)), await store.LoadAsync(Client("ana"), Ct));
    }

    [Fact]
    public async Task ATurnWhoseDecideThrowsFaultsAloneAndItsTimerStaysLeased()
    {
        var store = await CreateStoreAsync();
        await CommandAsync(store, Client("ana"), T0, Write("{}", timers: [new("day2", T0, "{}")]));
        var timer = await ClaimOneAsync(store, "w1", T0);
        var bug = new InvalidOperationException("a bug in decide");

        var outcomes = await store.RunTurnsAsync([
            OnTimer(timer, T0, _ => throw bug),
            Command(Client("bob"), T0, _ => Write("""{"b":1}""")),
            Command(Client("cy"), T0, _ => throw bug),
        ], Ct);

        Assert.Equal([new TurnOutcome.Faulted(bug), new TurnOutcome.Committed(1), new TurnOutcome.Faulted(bug)], outcomes);
        Assert.Equal(1, (await store.LoadAsync(Client("ana"), Ct))!.Version);
        Assert.Null(await store.LoadAsync(Client("cy"), Ct));
        // Still there and still leased to w1: nobody else takes it before the lease runs out, then it runs again.
        Assert.Empty(await store.ClaimDueTimersAsync("w2", T0, 10, Lease, Ct));
        var retry = await ClaimOneAsync(store, "w2", T0 + Lease + TimeSpan.FromSeconds(1));
        Assert.Equal(timer.Attempt + 1, retry.Attempt);
    }

    [Fact]
    public async Task ATurnTheDatabaseRefusesFaultsAloneAndTheOthersCommit()
    {
        var store = await CreateStoreAsync();
        // An outbox row without a body breaks a NOT NULL constraint: the database refuses that turn's writes.
        var broken = new OutboxWrite("ana-1", "sms", "+15550100", null, null!, "day2-nudge", "p1");

        var outcomes = await store.RunTurnsAsync([
            Command(Client("ana"), T0, _ => Write("""{"a":1}""", outbox: [broken])),
            Command(Client("bob"), T0, _ => Write("""{"b":1}""", outbox: [Sms("bob-1")])),
        ], Ct);

        Assert.IsType<TurnOutcome.Faulted>(outcomes[0]);
        Assert.Equal(new TurnOutcome.Committed(1), outcomes[1]);
        Assert.Null(await store.LoadAsync(Client("ana"), Ct));
        Assert.Equal("bob-1", (await SingleOutboxAsync(store)).IdempotencyKey);
        // Alone, the same turn throws to its caller.
        await Assert.ThrowsAnyAsync<Exception>(() => CommandAsync(store, Client("ana"), T0, Write("{}", outbox: [broken])));
    }

    [Fact]
    public async Task ATimerTurnAfterATurnThatRescheduledItsTimerInTheSameBatchIsFenced()
    {
        var store = await CreateStoreAsync();
        await CommandAsync(store, Client("ana"), T0, Write("{}", timers: [new("day2", T0, "{}"), new("day5", T0, "{}")]));
        var claimed = await store.ClaimDueTimersAsync("w1", T0, 10, Lease, Ct);
        var day2 = claimed.Single(t => t.Name == "day2");
        var day5 = claimed.Single(t => t.Name == "day5");
        var calls = 0;

        // A session logged meanwhile moves day2 and cancels day5; the claims of both must no longer run.
        var outcomes = await store.RunTurnsAsync([
            Command(Client("ana"), T0, _ => Write("""{"session":2}""", timers: [new("day2", T0.AddDays(2), "{}")], cancel: ["day5"])),
            OnTimer(day2, T0, _ => { calls++; return Write("{}"); }),
            OnTimer(day5, T0, _ => { calls++; return Write("{}"); }),
        ], Ct);

        Assert.Equal([new TurnOutcome.Committed(2), new TurnOutcome.Fenced(), new TurnOutcome.Fenced()], outcomes);
        Assert.Equal(0, calls);
        var backlog = await store.GetTimerBacklogAsync(T0.AddDays(2), Ct);
        Assert.Equal(1, backlog.Total); // day2, rescheduled; day5 gone
    }

    [Fact]
    public async Task TwoTimerTurnsOfOneGrainInABatchBothRunAndBothConsumeTheirTimers()
    {
        var store = await CreateStoreAsync();
        await CommandAsync(store, Client("ana"), T0, Write("""{"n":1}""", timers: [new("day2", T0, "{}"), new("day5", T0, "{}")]));
        var claimed = await store.ClaimDueTimersAsync("w1", T0, 10, Lease, Ct);

        var outcomes = await store.RunTurnsAsync(
            claimed.Select(t => OnTimer(t, T0, g => Write($$"""{"n":{{g!.Version + 1}}}"""))).ToList(), Ct);

        Assert.Equal([new TurnOutcome.Committed(2), new TurnOutcome.Committed(3)], outcomes);
        Assert.Equal("""{"n":3}""", (await store.LoadAsync(Client("ana"), Ct))!.StateJson);
        Assert.Equal(0, (await store.GetTimerBacklogAsync(T0, Ct)).Total);
    }

    [Fact]
    public async Task SeveralTurnsOfOneGrainInABatchLeaveWhatTheyWouldHaveLeftOneAfterTheOther()
    {
        var store = await CreateStoreAsync();

        // Each turn rewrites what the one before it wrote: a store that writes a batch per table must net them out.
        var outcomes = await store.RunTurnsAsync([
            Command(Client("ana"), T0, _ => Write("""{"n":1}""", timers: [new("day2", T0.AddDays(1), "{}")], outbox: [Sms("ana-1")])
                with { TouchFacts = [Fact("s1")] }),
            Command(Client("ana"), T0.AddHours(1), _ => Write("""{"n":2}""", timers: [new("day5", T0.AddDays(1), "{}")], cancel: ["day2"],
                outbox: [Sms("ana-2")]) with { TouchFacts = [Fact("s1", repliedAfter: TimeSpan.FromHours(1), rating: 4)] }),
            Command(Client("ana"), T0.AddHours(2), _ => Write("""{"n":3}""", timers: [new("day2", T0.AddDays(3), "{}")])),
        ], Ct);

        Assert.Equal([new TurnOutcome.Committed(1), new TurnOutcome.Committed(2), new TurnOutcome.Committed(3)], outcomes);
        Assert.Equal(new StoredGrain(Client("ana"), """{"n":3}""", 3, T0.AddHours(2)), await store.LoadAsync(Client("ana"), Ct));
        var timers = await store.ClaimDueTimersAsync("w1", T0.AddDays(3), 10, Lease, Ct);
        Assert.Equal([("day5", T0.AddDays(1)), ("day2", T0.AddDays(3))], timers.Select(t => (t.Name, t.DueAt)));
        var fact = Assert.Single(await store.GetTemplateStatsAsync(new TemplateStatsQuery("org1"), Ct));
        Assert.Equal((1, 1, 3600.0), (fact.Sent, fact.Replied, fact.MedianReplySeconds));
        Assert.Equal([0, 0, 0, 1, 0], fact.Ratings);
        // Newest first: the outbox rows were numbered in the order the turns wrote them.
        Assert.Equal(["ana-2", "ana-1"], (await store.QueryOutboxAsync(new OutboxQuery("org1"), Ct)).Select(o => o.IdempotencyKey));
    }

    [Fact]
    public async Task ATimerConsumedByItsTurnAndScheduledAgainByALaterTurnOfTheBatchIsKeptAndItsOldClaimFenced()
    {
        var store = await CreateStoreAsync();
        await CommandAsync(store, Client("ana"), T0, Write("{}", timers: [new("day2", T0, "{}")]));
        var day2 = await ClaimOneAsync(store, "w1", T0);

        var outcomes = await store.RunTurnsAsync([
            OnTimer(day2, T0, _ => Write("""{"nudged":1}""")),
            Command(Client("ana"), T0, _ => Write("""{"nudged":1,"session":2}""", timers: [new("day2", T0.AddDays(7), "{}")])),
        ], Ct);

        Assert.Equal([new TurnOutcome.Committed(2), new TurnOutcome.Committed(3)], outcomes);
        // The stale claim of day2 can no longer run a turn.
        Assert.Equal(new TurnOutcome.Fenced(), await TimerTurnAsync(store, day2, T0, _ => Write("{}")));
        var again = await ClaimOneAsync(store, "w2", T0.AddDays(7));
        Assert.Equal(("day2", T0.AddDays(7)), (again.Name, again.DueAt));
    }
}
