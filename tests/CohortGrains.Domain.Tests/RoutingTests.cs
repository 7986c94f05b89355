using CohortGrains.Domain.ClientLoops;
using CohortGrains.Domain.Coaches;
using CohortGrains.Domain.Common;

namespace CohortGrains.Domain.Tests;

public class RoutingTests
{
    // Thu 2026-06-04 11:00 EDT.
    private static readonly DateTimeOffset Thursday = A.T("2026-06-04T15:00Z");
    private static readonly DateTimeOffset Day5Sent = A.T("2026-06-06T13:00Z");

    private static LoopScenario AfterDay5()
    {
        var loop = LoopScenario.AfterSession();
        loop.RunUntil(Day5Sent);
        return loop;
    }

    [Theory]
    [InlineData("3")]
    [InlineData("4")]
    [InlineData("5 great week")]
    public void Rating3To5IsOnTrackWithoutEscalation(string text)
    {
        var loop = AfterDay5();

        var d = loop.Expect(A.Reply(text), Day5Sent.AddHours(1));

        Assert.Equal(ClientStatus.OnTrack, loop.State.Status);
        Assert.Equal(ReplyRoute.OnTrack, loop.State.Replies.Single().Route);
        Assert.DoesNotContain(d.Effects, e => e is AlertCoach);
        Assert.Empty(loop.State.Escalations);
    }

    [Fact]
    public void ABareRatingIsLoggedWithoutEchoingTheDigit()
    {
        var loop = AfterDay5();

        loop.Expect(A.Reply("4"), Day5Sent.AddHours(1));

        Assert.Equal("rated 4 on Sat", loop.State.StatusDetail);
        Assert.Equal(4, loop.State.LastRating);
    }

    [Fact]
    public void Rating1To2IsStuckAndAlertsTheCoachWithTheDetail()
    {
        var loop = LoopScenario.AfterSession();
        loop.RunUntil(A.T("2026-06-03T13:00Z"));

        var d = loop.Expect(A.Reply("2 no time for calls"), Thursday);

        Assert.Equal(ClientStatus.Stuck, loop.State.Status);
        Assert.Equal("rated 2 on Thu: 'no time for calls'", loop.State.StatusDetail);
        var alert = Assert.Single(d.Effects.OfType<AlertCoach>());
        Assert.Equal("coach-1", alert.CoachId);
        Assert.Equal("rated 2 on Thu: 'no time for calls'", alert.Alert.Detail);
        Assert.Equal(EscalationReason.Stuck, alert.Alert.Reason);
        Assert.Equal("client-1", alert.Alert.ClientId);
        Assert.Equal("Dana Whitfield", alert.Alert.ClientName);
        Assert.Equal("cohort-1", alert.Alert.CohortId);
        Assert.Equal(A.NextSessionAt, alert.Alert.NextSessionAt);
        Assert.Equal(loop.State.Escalations.Single().Id, alert.Alert.EscalationId);
    }

    [Fact]
    public void ABareLowRatingIsStuckWithoutAQuote()
    {
        var loop = AfterDay5();

        loop.Expect(A.Reply("1"), Day5Sent.AddHours(1));

        Assert.Equal(ClientStatus.Stuck, loop.State.Status);
        Assert.Equal("rated 1 on Sat", loop.State.StatusDetail);
    }

    [Theory]
    [InlineData("I'm stuck on the pricing page")]
    [InlineData("blocked by legal")]
    [InlineData("no time this week")]
    [InlineData("Help!")]
    [InlineData("haven't started yet")]
    [InlineData("feeling overwhelmed")]
    public void StuckWordsWithoutARatingAreStuck(string text)
    {
        var loop = AfterDay5();

        var d = loop.Expect(A.Reply(text), Day5Sent.AddHours(1));

        Assert.Equal(ClientStatus.Stuck, loop.State.Status);
        Assert.Equal($"said '{text}' on Sat", loop.State.StatusDetail);
        Assert.Single(d.Effects.OfType<AlertCoach>());
    }

    [Theory]
    [InlineData("not stuck, just slow")]
    [InlineData("no longer blocked")]
    [InlineData("finally unstuck")]
    public void NegatedStuckIsNotStuck(string text)
    {
        var loop = AfterDay5();

        var d = loop.Expect(A.Reply(text), Day5Sent.AddHours(1));

        Assert.Equal(ClientStatus.OnTrack, loop.State.Status);
        Assert.Equal(ReplyRoute.Noted, loop.State.Replies.Single().Route);
        Assert.DoesNotContain(d.Effects, e => e is AlertCoach);
    }

    [Fact]
    public void AGoodRatingWithStuckWordsStillEscalates()
    {
        var loop = AfterDay5();

        loop.Expect(A.Reply("4 but stuck on pricing"), Day5Sent.AddHours(1));

        Assert.Equal(ClientStatus.Stuck, loop.State.Status);
        Assert.Equal("rated 4 on Sat: 'but stuck on pricing'", loop.State.StatusDetail);
    }

    [Fact]
    public void NoReplyWithin24HoursOfTheDay5CheckIsSilentAndEscalates()
    {
        var loop = AfterDay5();
        Assert.Equal(Day5Sent.AddHours(24), loop.Due("silent:s1-day5"));

        loop.RunUntil(Day5Sent.AddHours(24));

        Assert.Equal(ClientStatus.Silent, loop.State.Status);
        Assert.Equal("no reply to the check-in sent Sat", loop.State.StatusDetail);
        var alert = Assert.Single(loop.Alerts);
        Assert.Equal(EscalationReason.Silent, alert.Alert.Reason);
        Assert.Equal(EscalationReason.Silent, loop.State.Escalations.Single().Reason);
    }

    [Fact]
    public void TheSilenceDeadlineFollowsTheProgram()
    {
        var program = A.Program(silentAfterHours: 36);
        var loop = LoopScenario.AfterSession(A.Enroll(program: program), A.Session(program: program));
        loop.RunUntil(Day5Sent);

        Assert.Equal(Day5Sent.AddHours(36), loop.Due("silent:s1-day5"));
    }

    [Fact]
    public void AReplyCancelsTheSilenceReminder()
    {
        var loop = AfterDay5();

        var d = loop.Expect(A.Reply("3"), Day5Sent.AddHours(23));

        Assert.Contains(new CancelReminder("silent:s1-day5"), d.Effects);
        Assert.DoesNotContain("silent:s1-day5", loop.Timers.Keys);
        // Even if the timer was already claimed and fires, the client is not silent.
        var late = ClientLoopDecider.Decide(loop.State, new ReminderDue("silent:s1-day5"), Day5Sent.AddHours(24));
        Assert.Empty(late.Effects);
        Assert.Equal(ClientStatus.OnTrack, late.State!.Status);
    }

    [Fact]
    public void AReplyToAnOlderPromptAfterTheCheckAlsoMeansNotSilent()
    {
        var loop = AfterDay5();

        // The client answers through the day-2 link after the day-5 check went out.
        loop.Expect(A.Reply("4", promptId: "s1-day2", channel: Channel.InApp), Day5Sent.AddHours(2));
        loop.RunUntil(Day5Sent.AddHours(25));

        Assert.NotEqual(ClientStatus.Silent, loop.State.Status);
        Assert.Empty(loop.Alerts);
    }

    [Fact]
    public void ASilentClientWhoRepliesIsBackOnTrack()
    {
        var loop = AfterDay5();
        loop.RunUntil(Day5Sent.AddHours(24));

        loop.Expect(A.Reply("sorry, busy week. made one call"), Day5Sent.AddHours(30));

        Assert.Equal(ClientStatus.OnTrack, loop.State.Status);
        Assert.StartsWith("replied on Sun", loop.State.StatusDetail);
    }

    [Fact]
    public void RepeatedStuckRepliesInOneCycleAlertTheCoachOnceWhileUnhandled()
    {
        var loop = AfterDay5();

        loop.Expect(A.Reply("2 stuck on pricing"), Day5Sent.AddHours(1));
        var sinceFirst = loop.State.StatusSince;
        loop.Expect(A.Reply("still stuck"), Day5Sent.AddHours(2));
        loop.Expect(A.Reply("1"), Day5Sent.AddHours(3));

        Assert.Single(loop.Alerts);
        Assert.Single(loop.State.Escalations);
        Assert.Equal(3, loop.State.Replies.Count);
        Assert.Equal(sinceFirst, loop.State.StatusSince); // stuck since the first reply
        Assert.Equal("rated 1 on Sat", loop.State.StatusDetail); // the latest word
    }

    [Fact]
    public void OnceHandledANewStuckReplyAlertsAgain()
    {
        var loop = AfterDay5();
        loop.Expect(A.Reply("2 stuck on pricing"), Day5Sent.AddHours(1));
        loop.Expect(new EscalationHandled("e1", Day5Sent.AddHours(2)), Day5Sent.AddHours(2));

        loop.Expect(A.Reply("1 still stuck"), Day5Sent.AddHours(5));

        Assert.Equal(2, loop.Alerts.Count());
        Assert.Equal(["e1", "e2"], loop.State.Escalations.Select(e => e.Id));
    }

    [Fact]
    public void EscalationHandledBeforeTheNextSessionCountsAsCaught()
    {
        var loop = AfterDay5();
        loop.Expect(A.Reply("2"), Day5Sent.AddHours(1));

        loop.Expect(new EscalationHandled("e1", A.NextSessionAt.AddMinutes(-5)), A.NextSessionAt.AddMinutes(-5));

        Assert.True(loop.State.Escalations.Single().Caught);
    }

    [Fact]
    public void EscalationHandledAfterTheNextSessionIsNotCaught()
    {
        var loop = AfterDay5();
        loop.Expect(A.Reply("2"), Day5Sent.AddHours(1));

        loop.Expect(new EscalationHandled("e1", A.NextSessionAt.AddMinutes(5)), A.NextSessionAt.AddMinutes(5));

        Assert.False(loop.State.Escalations.Single().Caught);
    }

    [Fact]
    public void EscalationHandledIsIdempotentAndUnknownIdsAreRejected()
    {
        var loop = AfterDay5();
        loop.Expect(A.Reply("2"), Day5Sent.AddHours(1));
        loop.Expect(new EscalationHandled("e1", Day5Sent.AddHours(2)), Day5Sent.AddHours(2));

        loop.Expect(new EscalationHandled("e1", A.NextSessionAt.AddDays(1)), A.NextSessionAt.AddDays(1));

        Assert.Equal(Day5Sent.AddHours(2), loop.State.Escalations.Single().HandledAt);
        Assert.Equal(Rejection.NotFound, loop.Tell(new EscalationHandled("e9", Day5Sent), Day5Sent).Rejected?.Code);
    }

    [Fact]
    public void ASlotOfferIsSentToTheClientAndRecordedOnTheEscalation()
    {
        var loop = AfterDay5();
        loop.Expect(A.Reply("2 stuck on pricing"), Day5Sent.AddHours(1));

        var d = loop.Expect(new SlotOffered("e1", A.T("2026-06-07T15:00Z")), Day5Sent.AddHours(1));

        var touch = Assert.Single(d.Effects.OfType<SendTouch>()).Touch;
        Assert.Equal("Hi Dana, Sam Rivera has a free 15-minute slot on Sun 11:00 to help you get unstuck. Reply YES to take it, or tell us what would help.", touch.Body);
        Assert.Null(touch.PromptId);
        Assert.Equal(A.T("2026-06-07T15:00Z"), loop.State.Escalations.Single().SlotOffered);
        // Redelivered: nothing sent twice.
        Assert.Empty(loop.Expect(new SlotOffered("e1", A.T("2026-06-07T15:00Z")), Day5Sent.AddHours(2)).Effects);
    }

    [Fact]
    public void WithNoFreeSlotTheClientHearsTheCoachWillBeInTouch()
    {
        var loop = AfterDay5();
        loop.Expect(A.Reply("2"), Day5Sent.AddHours(1));

        var d = loop.Expect(new SlotOffered("e1", null), Day5Sent.AddHours(1));

        Assert.Equal("Hi Dana, Sam Rivera has seen your update and will be in touch before Mon 14:00.",
            Assert.Single(d.Effects.OfType<SendTouch>()).Touch.Body);
    }

    [Fact]
    public void ASlotOfferForAnUnknownEscalationIsRejected()
    {
        Assert.Equal(Rejection.NotFound, AfterDay5().Tell(new SlotOffered("e7", Day5Sent), Day5Sent).Rejected?.Code);
    }

    [Fact]
    public void PausedCancelsRemindersAndResumedReschedulesWhatIsLeft()
    {
        var loop = LoopScenario.AfterSession();
        loop.RunUntil(A.T("2026-06-03T13:00Z")); // day 2 sent

        var paused = loop.Expect(new Paused("travelling"), A.T("2026-06-03T15:00Z"));
        Assert.Equal([new CancelReminder("touch:1:day5"), new CancelReminder("touch:1:day6")], paused.Effects);
        Assert.Equal(ClientStatus.Paused, loop.State.Status);
        Assert.Empty(loop.Timers);

        var resumed = loop.Expect(new Resumed(), A.T("2026-06-05T15:00Z"));
        Assert.Equal(ClientStatus.OnTrack, loop.State.Status);
        Assert.Equal(["touch:1:day5", "touch:1:day6"], loop.Timers.Keys);
        Assert.Equal(A.T("2026-06-06T13:00Z"), loop.Due("touch:1:day5"));
        Assert.DoesNotContain(resumed.Effects, e => e is ScheduleReminder { Name: "touch:1:day2" });
    }

    [Fact]
    public void ResumingLateSkipsTouchpointsThatWentStale()
    {
        var loop = LoopScenario.AfterSession();
        loop.Expect(new Paused(null), A.T("2026-06-02T15:00Z"));

        loop.Expect(new Resumed(), A.T("2026-06-06T15:00Z")); // day 2 is 3 days stale; day 5 only 2 h

        Assert.Equal(["touch:1:day5", "touch:1:day6"], loop.Timers.Keys);
        Assert.Equal(A.T("2026-06-06T15:00Z"), loop.Due("touch:1:day5"));
    }

    [Fact]
    public void ResumingRestoresTheStatusBeforeThePause()
    {
        var loop = AfterDay5();
        loop.Expect(A.Reply("2 stuck"), Day5Sent.AddHours(1));
        loop.Expect(new Paused(null), Day5Sent.AddHours(2));

        loop.Expect(new Resumed(), Day5Sent.AddHours(3));

        Assert.Equal(ClientStatus.Stuck, loop.State.Status);
        Assert.Null(loop.State.StatusBeforePause);
    }

    [Fact]
    public void ResumingReopensTheSilenceDeadlineOfAnUnansweredCheck()
    {
        var loop = AfterDay5();
        loop.Expect(new Paused(null), Day5Sent.AddHours(1));

        loop.Expect(new Resumed(), Day5Sent.AddHours(2));

        Assert.Equal(Day5Sent.AddHours(24), loop.Due("silent:s1-day5"));
    }

    [Fact]
    public void ResumingAfterTheSilenceEscalationWasHandledDoesNotEscalateAgain()
    {
        var loop = AfterDay5();
        loop.RunUntil(Day5Sent.AddHours(24)); // silent, coach alerted
        loop.Expect(new EscalationHandled("e1", Day5Sent.AddHours(25)), Day5Sent.AddHours(25));
        loop.Expect(new Paused(null), Day5Sent.AddHours(26));

        loop.Expect(new Resumed(), Day5Sent.AddHours(27));
        loop.RunUntil(A.NextSessionAt);

        Assert.Single(loop.Alerts);
        Assert.Single(loop.State.Escalations);
    }

    [Fact]
    public void RemindersFiringWhilePausedDoNothing()
    {
        var loop = LoopScenario.AfterSession();
        loop.Expect(new Paused(null), A.T("2026-06-02T15:00Z"));

        var d = ClientLoopDecider.Decide(loop.State, new ReminderDue("touch:1:day2"), A.T("2026-06-03T13:00Z"));

        Assert.Empty(d.Effects);
        Assert.Empty(d.State!.Touches);
    }

    [Fact]
    public void PauseAndResumeAreIdempotent()
    {
        var loop = LoopScenario.AfterSession();
        loop.Expect(new Paused(null), A.T("2026-06-02T15:00Z"));
        Assert.Empty(loop.Expect(new Paused(null), A.T("2026-06-02T16:00Z")).Effects);
        loop.Expect(new Resumed(), A.T("2026-06-02T17:00Z"));
        Assert.Empty(loop.Expect(new Resumed(), A.T("2026-06-02T18:00Z")).Effects);
        Assert.Equal(3, loop.Timers.Count);
    }

    [Fact]
    public void RepliesWhilePausedAreNotedNotRouted()
    {
        var loop = LoopScenario.AfterSession();
        loop.Expect(new Paused(null), A.T("2026-06-02T15:00Z"));

        var d = loop.Expect(A.Reply("1 stuck"), A.T("2026-06-02T16:00Z"));

        Assert.Equal(ReplyRoute.Noted, loop.State.Replies.Single().Route);
        Assert.Equal(ClientStatus.Paused, loop.State.Status);
        Assert.DoesNotContain(d.Effects, e => e is AlertCoach);
    }

    [Fact]
    public void ProgramEndedMarksDoneAndCancelsReminders()
    {
        var loop = AfterDay5();

        var d = loop.Expect(new ProgramEnded("program completed"), Day5Sent.AddHours(1));

        Assert.Equal(ClientStatus.Done, loop.State.Status);
        Assert.Equal("program completed", loop.State.StatusDetail);
        Assert.Contains(new CancelReminder("touch:1:day6"), d.Effects);
        Assert.Contains(new CancelReminder("silent:s1-day5"), d.Effects);
        Assert.Empty(loop.Timers);
        Assert.Null(loop.State.OpenPromptId);
        Assert.Empty(loop.Expect(new ProgramEnded("again"), Day5Sent.AddHours(2)).Effects);
        Assert.Equal(Rejection.Conflict, loop.Tell(A.Session(at: A.NextSessionAt, next: A.NextSessionAt.AddDays(7)), A.NextSessionAt).Rejected?.Code);
        Assert.Equal(Rejection.Conflict, loop.Tell(new Paused(null), A.NextSessionAt).Rejected?.Code);
        Assert.Equal(ReplyRoute.Noted, loop.Expect(A.Reply("1 stuck"), A.NextSessionAt).State!.Replies.Single().Route);
        Assert.Empty(loop.Alerts);
    }

    [Fact]
    public void ActionItemCompletedIsIdempotentAndUnknownIdsAreRejected()
    {
        var loop = LoopScenario.AfterSession();
        var doneAt = A.T("2026-06-03T20:00Z");

        loop.Expect(new ActionItemCompleted("s1-a1"), doneAt);
        var again = loop.Expect(new ActionItemCompleted("s1-a1"), doneAt.AddHours(5));

        Assert.Empty(again.Effects);
        Assert.Equal(doneAt, loop.State.CurrentSession!.Items[0].CompletedAt);
        Assert.Null(loop.State.CurrentSession!.Items[1].CompletedAt);
        Assert.Equal(Rejection.NotFound, loop.Tell(new ActionItemCompleted("s1-a9"), doneAt).Rejected?.Code);
    }

    [Fact]
    public void ActionsFromEarlierSessionsCanStillBeCompleted()
    {
        var loop = LoopScenario.AfterSession();
        loop.Expect(A.Session(at: A.NextSessionAt, next: A.NextSessionAt.AddDays(7), items: A.Items("Ship it")), A.NextSessionAt.AddHours(1));

        loop.Expect(new ActionItemCompleted("s1-a2"), A.NextSessionAt.AddHours(2));

        Assert.NotNull(loop.State.Sessions[0].Items[1].CompletedAt);
        Assert.Equal(3, loop.State.AllActions.Count());
    }

    [Fact]
    public void AnActionIsLateOnceItsDayHasEndedInTheClientsZone()
    {
        var loop = LoopScenario.AfterSession(); // first item by Fri 2026-06-05

        Assert.Equal(A.T("2026-06-06T04:00Z"), ClientLoopDecider.EarliestOpenActionDue(loop.State)); // Sat 00:00 EDT
        loop.Expect(new ActionItemCompleted("s1-a1"), A.T("2026-06-05T12:00Z"));
        Assert.Null(ClientLoopDecider.EarliestOpenActionDue(loop.State));
    }

    [Fact]
    public void ANewSessionPutsAStuckClientBackOnTrack()
    {
        var loop = AfterDay5();
        loop.Expect(A.Reply("2 stuck"), Day5Sent.AddHours(1));

        loop.Expect(A.Session(at: A.NextSessionAt, next: A.NextSessionAt.AddDays(7)), A.NextSessionAt.AddHours(1));

        Assert.Equal(ClientStatus.OnTrack, loop.State.Status);
        Assert.Equal("session 2 logged", loop.State.StatusDetail);
    }

    [Fact]
    public void RiskOrdersStuckBeforeSilentBeforeOnTrack()
    {
        var s = LoopScenario.AfterSession().State;

        Assert.True(ClientLoopDecider.Risk(s with { Status = ClientStatus.Stuck }) > ClientLoopDecider.Risk(s with { Status = ClientStatus.Silent }));
        Assert.True(ClientLoopDecider.Risk(s with { Status = ClientStatus.Silent }) > ClientLoopDecider.Risk(s));
        Assert.True(ClientLoopDecider.Risk(s) > ClientLoopDecider.Risk(s with { Status = ClientStatus.Done }));
    }
}
