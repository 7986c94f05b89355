using System.Collections.Immutable;
using CohortGrains.Domain.ClientLoops;
using CohortGrains.Domain.Coaches;
using CohortGrains.Domain.Programs;
using CohortGrains.Runtime.Storage;

namespace CohortGrains.Runtime.Tests;

public sealed class GrainRuntimeTests
{
    private static readonly GrainId Client = new("org1", ClientLoopDecider.GrainType, "cli_1");
    private static readonly GrainId Coach = new("org1", CoachDecider.GrainType, "coa_1");

    private static async Task<RuntimeFixture> WithClientInSessionAsync(ScriptedChannel sms)
    {
        var fx = await WithEnrolledClientAsync(sms);
        await LogSessionAsync(fx, fx.Clock.GetUtcNow());
        return fx;
    }

    private static Task<GrainCall<ClientLoopState>> LogSessionAsync(RuntimeFixture fx, DateTimeOffset at) =>
        fx.Runtime.SendAsync<ClientLoopState>(Client, new SessionCompleted(at, at.AddDays(7),
            [new NewActionItem("Make two prospecting calls", null, null)], new SessionNote("a", "b", "c", "d", "e"), Program), default);

    private static readonly ProgramDefinition Program = ProgramDefinition.Default(new SessionSchedule(DayOfWeek.Monday, new TimeOnly(10, 0), "UTC"));

    private static async Task<RuntimeFixture> WithEnrolledClientAsync(ScriptedChannel sms)
    {
        var fx = new RuntimeFixture([sms, new ScriptedChannel("email"), new ScriptedChannel("inapp")]);
        await fx.Runtime.SendAsync<CoachState>(Coach, new CreateCoach("coa_1", "Maya Chen", null, "UTC",
            [new AvailabilityWindow(DayOfWeek.Wednesday, new TimeOnly(9, 0), new TimeOnly(10, 0))]), default);
        await fx.Runtime.SendAsync<ClientLoopState>(Client, new Enroll("cli_1", "coh_1", "coa_1", "Maya Chen",
            new ClientProfile("Ava Brooks", "+14155550101", null, "UTC", 9), new Consent(true), Program), default);
        return fx;
    }

    [Fact]
    public async Task ACommandTurnWritesTheStateAndItsRemindersInOneVersion()
    {
        using var fx = await WithClientInSessionAsync(new ScriptedChannel("sms"));
        var stored = await fx.Store.LoadAsync(Client, default);
        Assert.Equal(2, stored!.Version); // enrol, session
        Assert.Equal(3, (await fx.Store.GetTimerBacklogAsync(fx.Clock.GetUtcNow(), default)).Total); // day2, day5, day6
    }

    [Fact]
    public async Task AStuckReplyReachesTheCoachAndComesBackAsASlotOfferThroughDurableMessages()
    {
        var sms = new ScriptedChannel("sms");
        using var fx = await WithClientInSessionAsync(sms);
        var call = await fx.Runtime.SendAsync<ClientLoopState>(Client, new CheckInReplied(1, "blocked", null, Domain.Common.Channel.Sms), default);
        Assert.Equal(ClientStatus.Stuck, Assert.IsType<GrainCall<ClientLoopState>.Ok>(call).State.Status);

        // Before the workers run, the alert exists only as a durable message row: the coach has not seen it yet.
        Assert.Empty((await fx.Runtime.GetAsync<CoachState>(Coach, default))!.Alerts);
        // Claimed as a worker would: only the coach's alert. The reply's two events (checkin.replied, client.stuck) are
        // not queued for the org's Integrations grain at all: no webhook of the org subscribes to them.
        var due = await fx.Store.ClaimDueTimersAsync("test-worker", fx.Clock.GetUtcNow(), 10, TimeSpan.FromMinutes(1), default);
        var alertMessage = Assert.Single(due);
        Assert.Equal(Coach, alertMessage.Grain);
        Assert.Contains("\"clientEscalated\"", alertMessage.PayloadJson);
        Assert.StartsWith("msg:", alertMessage.Name);
        Assert.True(await fx.Runtime.RunTimerAsync(alertMessage, default));

        await fx.Pump.RunUntilIdleAsync();
        var coach = await fx.Runtime.GetAsync<CoachState>(Coach, default);
        var alert = Assert.Single(coach!.Alerts);
        Assert.Equal(new DateTimeOffset(2026, 3, 4, 9, 0, 0, TimeSpan.Zero), alert.OfferedSlot);
        var offer = Assert.Single(sms.Calls);
        Assert.Contains("Wed 09:00", offer.Body);
        Assert.Equal("ClientLoop/org1/cli_1/offer-e1", offer.IdempotencyKey);
    }

    [Fact]
    public async Task ATimerCountsAsHeldByTheNodeWhileItsTurnRunsAndNoLongerOnceTheBatchIsDone()
    {
        using var fx = await WithClientInSessionAsync(new ScriptedChannel("sms"));
        fx.Clock.Advance(TimeSpan.FromDays(2)); // the Day-2 nudge is due
        var heldDuringTurn = new List<int>();
        fx.Runtime.WorkScheduled += _ => heldDuringTurn.Add(fx.Node.LeasesHeld); // raised inside the turn's batch

        Assert.Equal(1, await fx.Timers.ProcessBatchAsync(default));

        Assert.Equal([1], heldDuringTurn);
        Assert.Equal(0, fx.Node.LeasesHeld);
    }

    [Fact]
    public async Task OnlyWorkDueNowWakesTheWorkersAndOnlyTheLoopItIsFor()
    {
        using var fx = await WithClientInSessionAsync(new ScriptedChannel("sms"));
        var woken = new List<ScheduledWork>();
        fx.Runtime.WorkScheduled += woken.Add;

        // An on-track reply cancels the silence deadline and emits webhook events nobody subscribed to: nothing to claim.
        var onTrack = await fx.Runtime.SendAsync<ClientLoopState>(Client, new CheckInReplied(4, null, null, Domain.Common.Channel.Sms), default);
        Assert.IsType<GrainCall<ClientLoopState>.Ok>(onTrack);
        Assert.Empty(woken);

        // A stuck reply sends the coach a durable message (a timer due now): the timer loops, not the outbox loop.
        await fx.Runtime.SendAsync<ClientLoopState>(Client, new CheckInReplied(1, "blocked", null, Domain.Common.Channel.Sms), default);
        Assert.Equal([ScheduledWork.Timers], woken);

        // The Day-2 reminder's turn writes an SMS to the outbox: the outbox loop only.
        await fx.Pump.RunUntilIdleAsync();
        woken.Clear();
        fx.Clock.Advance(TimeSpan.FromDays(2));
        Assert.Equal(1, await fx.Timers.ProcessBatchAsync(default));
        Assert.Equal([ScheduledWork.Outbox], woken);
    }

    [Theory]
    [InlineData(0, 0)] // logged when it happened: the cadence lies days ahead, nothing to claim yet
    [InlineData(2, 1)] // logged two days late: the Day-2 nudge is due at once (under a day overdue, so still sent)
    public async Task ASessionWakesTheTimerLoopsOnlyWhenOneOfItsNudgesIsAlreadyDue(int daysLate, int wakes)
    {
        using var fx = await WithEnrolledClientAsync(new ScriptedChannel("sms"));
        var woken = new List<ScheduledWork>();
        fx.Runtime.WorkScheduled += woken.Add;

        Assert.IsType<GrainCall<ClientLoopState>.Ok>(await LogSessionAsync(fx, fx.Clock.GetUtcNow().AddDays(-daysLate)));

        Assert.Equal(wakes, woken.Count(w => w.HasFlag(ScheduledWork.Timers)));
    }

    [Fact]
    public async Task ARejectedCommandChangesNothing()
    {
        using var fx = await WithClientInSessionAsync(new ScriptedChannel("sms"));
        var before = await fx.Store.LoadAsync(Client, default);
        var call = await fx.Runtime.SendAsync<ClientLoopState>(Client, new ActionItemCompleted("s9-a9"), default);
        Assert.IsType<GrainCall<ClientLoopState>.Rejected>(call);
        Assert.Equal(before!.Version, (await fx.Store.LoadAsync(Client, default))!.Version);
    }
}
