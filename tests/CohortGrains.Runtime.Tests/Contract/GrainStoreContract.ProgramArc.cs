using CohortGrains.Runtime.Storage;

namespace CohortGrains.Runtime.Tests.Contract;

/// <summary>
/// What the program arc (issue 9) needs of every store: the ended-early projection and its per-cohort count, touch facts
/// written in the turn and aggregated per template, and the outbox listed by recipient (a webhook endpoint's log).
/// </summary>
public abstract partial class GrainStoreContract
{
    private static TouchFactWrite Fact(string touchId, string template = "day5", int version = 1, string cohort = "c1",
        DateTimeOffset? sent = null, TimeSpan? repliedAfter = null, int? rating = null, string kind = "progress-check") =>
        new(touchId, cohort, "kim", template, version, kind, "sms", sent ?? T0, repliedAfter is { } r ? (sent ?? T0) + r : null, rating);

    [Fact]
    public async Task EndedEarlyIsProjectedAndCountedPerCohort()
    {
        var store = await CreateStoreAsync();
        await CommandAsync(store, Client("ana"), T0, Write("{}", new GrainProjection { CohortId = "c1", Status = "done", EndedEarly = true }));
        await CommandAsync(store, Client("ben"), T0, Write("{}", new GrainProjection { CohortId = "c1", Status = "done" }));
        await CommandAsync(store, Client("cy"), T0, Write("{}", new GrainProjection { CohortId = "c1", Status = "on-track" }));

        var stats = Assert.Single(await store.GetCohortStatsAsync("org1", null, T0, Ct));
        var ana = Assert.Single(await store.QueryGrainsAsync(new GrainQuery("org1", "ClientLoop") { Keys = ["ana"] }, Ct));

        Assert.Equal((3, 1), (stats.Clients, stats.ClientsEndedEarly));
        Assert.True(ana.Projection.EndedEarly);
        // A later turn that clears it (never in practice, but the column follows the projection).
        await CommandAsync(store, Client("ana"), T0, Write("{}", new GrainProjection { CohortId = "c1", Status = "done" }));
        Assert.Equal(0, (await store.GetCohortStatsAsync("org1", null, T0, Ct))[0].ClientsEndedEarly);
    }

    [Fact]
    public async Task TouchFactsAreWrittenWithTheTurnAndUpsertedByTouchId()
    {
        var store = await CreateStoreAsync();
        await CommandAsync(store, Client("ana"), T0, Write("{}") with { TouchFacts = [Fact("s1-day5"), Fact("s1-day2", "day2", kind: "nudge")] });
        // The reply arrives in a later turn: the same touch's fact is replaced, never counted twice.
        await CommandAsync(store, Client("ana"), T0.AddHours(3), Write("{}") with { TouchFacts = [Fact("s1-day5", repliedAfter: TimeSpan.FromHours(3), rating: 4)] });

        var stats = await store.GetTemplateStatsAsync(new TemplateStatsQuery("org1"), Ct);

        Assert.Equal(["day2", "day5"], stats.Select(s => s.Template));
        var day5 = stats[1];
        Assert.Equal((null, (int?)null, "progress-check", 1, 1, 3 * 3600.0), (day5.CohortId, day5.TemplateVersion, day5.Kind, day5.Sent, day5.Replied, day5.MedianReplySeconds));
        Assert.Equal([0, 0, 0, 1, 0], day5.Ratings);
        Assert.Equal((0, (double?)null), (stats[0].Replied, stats[0].MedianReplySeconds));
    }

    [Fact]
    public async Task TouchFactsOfATurnThatFailsAreNotWritten()
    {
        var store = await CreateStoreAsync();

        await Assert.ThrowsAsync<InvalidOperationException>(() => store.RunTurnAsync(Client("ana"), TurnTrigger.FromCommand, T0,
            _ => throw new InvalidOperationException("boom"), Ct));
        await CommandAsync(store, Client("ben"), T0, new TurnDecision.Reject("x", "y"));

        Assert.Empty(await store.GetTemplateStatsAsync(new TemplateStatsQuery("org1"), Ct));
    }

    [Fact]
    public async Task TemplateStatsGroupByCohortAndVersionWithTheMedianAndTheRatings()
    {
        var store = await CreateStoreAsync();
        var h = TimeSpan.FromHours(1);
        await CommandAsync(store, Client("ana"), T0, Write("{}") with { TouchFacts =
        [
            Fact("a1", version: 1, repliedAfter: 1 * h, rating: 2), Fact("a2", version: 1), Fact("a3", version: 2, repliedAfter: 4 * h, rating: 5),
        ] });
        await CommandAsync(store, Client("ben"), T0, Write("{}") with { TouchFacts =
        [
            Fact("b1", version: 1, repliedAfter: 3 * h, rating: 2), Fact("b2", version: 2, repliedAfter: 2 * h, rating: 4),
            Fact("b3", version: 1, cohort: "c2", repliedAfter: 10 * h, rating: 1),
        ] });

        var byCohortAndVersion = await store.GetTemplateStatsAsync(new TemplateStatsQuery("org1") { ByCohort = true, ByVersion = true }, Ct);
        var perOrg = Assert.Single(await store.GetTemplateStatsAsync(new TemplateStatsQuery("org1"), Ct));

        Assert.Equal([("c1", 1, 3, 2, 2 * 3600.0), ("c1", 2, 2, 2, 3 * 3600.0), ("c2", 1, 1, 1, 10 * 3600.0)],
            byCohortAndVersion.Select(s => (s.CohortId, s.TemplateVersion!.Value, s.Sent, s.Replied, s.MedianReplySeconds!.Value)));
        Assert.Equal([0, 2, 0, 0, 0], byCohortAndVersion[0].Ratings);
        // Across the org: replies after 1, 2, 3, 4 and 10 hours → the median is 3 hours.
        Assert.Equal((6, 5, 3 * 3600.0), (perOrg.Sent, perOrg.Replied, perOrg.MedianReplySeconds!.Value));
        Assert.Equal([1, 2, 0, 1, 1], perOrg.Ratings);
        Assert.Equal((T0, T0), (perOrg.FirstSentAt, perOrg.LastSentAt));
    }

    [Fact]
    public async Task TemplateStatsFilterByCohortTimeWindowAndOrg()
    {
        var store = await CreateStoreAsync();
        await CommandAsync(store, Client("ana"), T0, Write("{}") with { TouchFacts =
        [
            Fact("old", sent: T0.AddDays(-30)), Fact("mid", sent: T0.AddDays(-3)), Fact("new", sent: T0.AddHours(-2)),
            Fact("other", cohort: "c2", sent: T0.AddDays(-3)),
        ] });
        await CommandAsync(store, Client("zed", org: "org2"), T0, Write("{}") with { TouchFacts = [Fact("z", sent: T0.AddDays(-3))] });

        var window = await store.GetTemplateStatsAsync(new TemplateStatsQuery("org1") { CohortId = "c1", Since = T0.AddDays(-28), Until = T0.AddHours(-24) }, Ct);
        var c1 = await store.GetTemplateStatsAsync(new TemplateStatsQuery("org1") { CohortId = "c1" }, Ct);

        Assert.Equal((1, T0.AddDays(-3)), (Assert.Single(window).Sent, window[0].FirstSentAt));
        Assert.Equal((3, T0.AddDays(-30), T0.AddHours(-2)), (Assert.Single(c1).Sent, c1[0].FirstSentAt, c1[0].LastSentAt));
        Assert.Equal(1, Assert.Single(await store.GetTemplateStatsAsync(new TemplateStatsQuery("org2"), Ct)).Sent);
    }

    [Fact]
    public async Task OutboxQueryFiltersByRecipient()
    {
        var store = await CreateStoreAsync();
        await CommandAsync(store, Client("ana"), T0, Write("{}", outbox:
        [
            new("w1", "webhook", "we_1", "client.stuck", "{}", "client.stuck", null),
            new("w2", "webhook", "we_2", "client.stuck", "{}", "client.stuck", null),
            new("w3", "webhook", "we_1", "checkin.replied", "{}", "checkin.replied", null),
        ]));

        var log = await store.QueryOutboxAsync(new OutboxQuery("org1") { Channel = "webhook", Recipient = "we_1" }, Ct);

        Assert.Equal(["w3", "w1"], log.Select(o => o.IdempotencyKey));
    }
}
