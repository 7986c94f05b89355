using System.Collections.Immutable;
using CohortGrains.Domain.ClientLoops;
using CohortGrains.Domain.Coaches;
using CohortGrains.Domain.Common;
using CohortGrains.Domain.Integrations;
using CohortGrains.Domain.Programs;

namespace CohortGrains.Domain.Tests;

/// <summary>The program's beginning, middle and end around the weekly loop: welcome, midpoint check, closing reflection, reflections.</summary>
public class ProgramArcTests
{
    public static readonly CommunicationNorms Norms = new([Channel.Email, Channel.Sms], 24,
        "brief reflections by email; one 15-minute call if you are stuck", "real-time coaching between calls");

    /// <summary>Sessions every IntervalWeeks from Mon 2026-06-01 14:00 EDT, each logged an hour after it, every timer run in between.</summary>
    public static LoopScenario AfterSessions(int count, ProgramDefinition? program = null, Enroll? enroll = null, int? stopBeforeLast = null)
    {
        program ??= A.Program();
        var step = TimeSpan.FromDays(7 * program.Schedule.IntervalWeeks);
        var loop = LoopScenario.Enrolled(enroll ?? A.Enroll(program: program));
        for (var i = 0; i < count; i++)
        {
            var at = A.SessionAt + step * i;
            loop.Expect(A.Session(at: at, next: at + step, program: program), at.AddHours(1));
            if (i < count - 1) loop.RunUntil(at + step - TimeSpan.FromMinutes(1));
        }
        return loop;
    }

    [Fact]
    public void TheFirstMessageOfTheProgramWelcomesTheClientWithTheCoachsNorms()
    {
        var enrolledAt = A.T("2026-05-25T18:00Z"); // Mon 14:00 New York
        var loop = LoopScenario.Enrolled(A.Enroll() with { Norms = Norms }, enrolledAt);

        // Sent in the enrolment turn itself: no timer turn per client on a launch day.
        Assert.Empty(loop.Timers);
        var (at, touch) = Assert.Single(loop.Sent);
        Assert.Equal(enrolledAt, at);
        Assert.Equal(("welcome", Channel.Email, "dana@example.com"), (touch.Id, touch.Channel, touch.Recipient));
        Assert.Equal("Welcome: how we will work together", touch.Subject);
        Assert.Contains("Hi Dana, welcome to your coaching program with Sam Rivera.", touch.Body);
        Assert.Contains("reach Sam Rivera between sessions by email and text message; expect a reply within 24 hours", touch.Body);
        Assert.Contains("Included between sessions: brief reflections by email; one 15-minute call if you are stuck.", touch.Body);
        Assert.Contains("Not included: real-time coaching between calls.", touch.Body);
        // It asks nothing and is not a nudge: no open prompt, and the week's cap is left to the check-ins.
        Assert.Null(loop.State.OpenPromptId);
        Assert.False(loop.State.Touches.Single().CountsTowardCap);
    }

    [Fact]
    public void WithoutNormsThereIsNoWelcome()
    {
        var loop = LoopScenario.Enrolled();

        loop.RunUntil(A.SessionAt);

        Assert.Empty(loop.Sent);
        Assert.Empty(loop.Timers);
    }

    [Fact]
    public void AWelcomeForAnEveningEnrolmentWaitsForTheMorning()
    {
        var lateEvening = A.Local(A.NewYork, 2026, 5, 25, 22, 30);

        var loop = LoopScenario.Enrolled(A.Enroll() with { Norms = Norms }, lateEvening);

        Assert.Equal(A.Local(A.NewYork, 2026, 5, 26, 8, 0), loop.Due("arc:welcome"));
        loop.RunUntil(A.Local(A.NewYork, 2026, 5, 26, 8, 0));
        Assert.Equal("welcome", Assert.Single(loop.Sent).Touch.Id);
    }

    [Fact]
    public void TheWelcomeSurvivesTheFirstSessionBeingLoggedBeforeItWentOut()
    {
        var lateEvening = A.Local(A.NewYork, 2026, 5, 31, 22, 0);
        var loop = LoopScenario.Enrolled(A.Enroll() with { Norms = Norms }, lateEvening);

        loop.Expect(A.Session(at: A.Local(A.NewYork, 2026, 5, 31, 23, 0)), A.Local(A.NewYork, 2026, 5, 31, 23, 30));

        Assert.Contains("arc:welcome", loop.Timers.Keys);
        loop.RunUntil(A.Local(A.NewYork, 2026, 6, 1, 8, 0));
        Assert.Equal("welcome", Assert.Single(loop.Sent).Touch.Id);
    }

    [Theory]
    [InlineData(8, 1, 8, 4)]
    [InlineData(8, 2, 4, 2)]
    [InlineData(5, 1, 5, 3)]
    [InlineData(12, 4, 3, 2)]
    [InlineData(2, 1, 2, null)]
    public void TheMidpointIsHalfTheProgramsSessions(int weeks, int interval, int total, int? midpoint)
    {
        var program = A.Program() with { Weeks = weeks, Schedule = A.Program().Schedule with { IntervalWeeks = interval } };

        Assert.Equal(total, program.TotalSessions);
        Assert.Equal(midpoint, program.MidpointSession);
    }

    [Fact]
    public void TheMidpointCheckGoesOutTheDayAfterTheMidpointSessionWithTheFiveQuestions()
    {
        var loop = AfterSessions(3);
        Assert.DoesNotContain("arc:midpoint", loop.Timers.Keys);

        var fourth = A.SessionAt.AddDays(21);
        loop.Expect(A.Session(at: fourth, next: fourth.AddDays(7)), fourth.AddHours(1));

        // Session 4 of 8 was on Monday 06-22: the check goes out Tuesday at the client's 09:00.
        Assert.Equal(A.Local(A.NewYork, 2026, 6, 23, 9, 0), loop.Due("arc:midpoint"));
        loop.RunUntil(A.Local(A.NewYork, 2026, 6, 23, 9, 0));
        var midpoint = loop.SentTouch("midpoint");
        Assert.Equal(Channel.Email, midpoint.Channel);
        Assert.Equal("Halfway there: five quick questions", midpoint.Subject);
        foreach (var q in ProgramArc.MidpointQuestions) Assert.Contains(q.Text, midpoint.Body);
        Assert.StartsWith("Hi Dana, we are halfway through the program. Sam Rivera would like", midpoint.Body);
        Assert.Null(midpoint.PromptId);
    }

    [Fact]
    public void ABareSmsReplyNeverGoesToTheMidpointQuestions()
    {
        var loop = AfterSessions(4);
        loop.RunUntil(A.Local(A.NewYork, 2026, 6, 27, 9, 0)); // through the midpoint (Tue) and the Day-5 check (Sat)

        loop.Expect(A.Reply("4"), A.Local(A.NewYork, 2026, 6, 27, 10, 0));

        Assert.Equal("s4-day5", loop.State.Replies.Single().PromptId);
    }

    [Fact]
    public void ABiweeklyProgramChecksInAfterSessionTwoAndClosesAtSessionFour()
    {
        var program = A.Program(cadence: ProgramDefinition.DefaultCadenceFor(2)) with
        {
            Schedule = A.Program().Schedule with { IntervalWeeks = 2 },
        };

        var loop = AfterSessions(2, program);
        Assert.Equal(A.Local(A.NewYork, 2026, 6, 16, 9, 0), loop.Due("arc:midpoint"));
        Assert.DoesNotContain("arc:closing", loop.Timers.Keys);

        loop.RunUntil(A.SessionAt.AddDays(28).AddMinutes(-1));
        var last = A.SessionAt.AddDays(42);
        loop.Expect(A.Session(at: A.SessionAt.AddDays(28), next: last, program: program), A.SessionAt.AddDays(28).AddHours(1));
        loop.RunUntil(last.AddMinutes(-1));
        Assert.DoesNotContain(loop.Sent, s => s.Touch.Id == "closing");

        loop.Expect(A.Session(at: last, next: last.AddDays(14), program: program), last.AddHours(1));
        // The last session was Monday 14:00; 09:00 that day is past, so the closing reflection goes at once.
        Assert.Equal(last.AddHours(1), loop.Due("arc:closing"));
        loop.RunUntil(last.AddHours(1));
        var closing = loop.SentTouch("closing");
        foreach (var q in ProgramArc.ClosingQuestions) Assert.Contains(q.Text, closing.Body);
        Assert.Equal("Your closing reflection", closing.Subject);
    }

    [Fact]
    public void TheMidpointCheckWaitsForRoomUnderTheWeeklyCapInsteadOfBeingDropped()
    {
        var program = A.Program(weeklyCap: 2);

        var loop = AfterSessions(4, program);
        loop.RunUntil(A.SessionAt.AddDays(28).AddMinutes(-1));

        // Tue 06-23 09:00 the week already holds Wed 06-17 and Sat 06-20: it waits until Wed 06-17's leaves the week.
        var midpoint = loop.Sent.Single(s => s.Touch.Id == "midpoint");
        Assert.Equal(A.Local(A.NewYork, 2026, 6, 24, 9, 0), midpoint.At);
        var counted = loop.State.Touches.Where(t => t.SkippedBecause is null && t.CountsTowardCap).Select(t => t.At).ToList();
        Assert.All(counted, at => Assert.True(counted.Count(o => o > at.AddDays(-7) && o <= at) <= 2, $"more than 2 touches in the week up to {at}"));
    }

    [Fact]
    public void AClientPausedOverTheMidpointGetsTheCheckWhenResumed()
    {
        var loop = AfterSessions(4);
        loop.Expect(new Paused("holiday"), A.Local(A.NewYork, 2026, 6, 22, 16, 0));
        Assert.Empty(loop.Timers);
        loop.RunUntil(A.Local(A.NewYork, 2026, 6, 25, 12, 0));
        Assert.DoesNotContain(loop.Sent, s => s.Touch.Id == "midpoint");

        loop.Expect(new Resumed(), A.Local(A.NewYork, 2026, 6, 25, 12, 0));

        Assert.Equal(A.Local(A.NewYork, 2026, 6, 25, 12, 0), loop.Due("arc:midpoint"));
        loop.RunUntil(A.Local(A.NewYork, 2026, 6, 25, 12, 0));
        Assert.Contains(loop.Sent, s => s.Touch.Id == "midpoint");
    }

    [Fact]
    public void TheMidpointIsSentOnceEvenWhenItsReminderFiresAgain()
    {
        var loop = AfterSessions(4);
        loop.RunUntil(A.Local(A.NewYork, 2026, 6, 23, 9, 0));

        var again = ClientLoopDecider.Decide(loop.State, new ReminderDue("arc:midpoint"), A.Local(A.NewYork, 2026, 6, 23, 10, 0));

        Assert.Empty(again.Effects);
        Assert.Single(again.State!.Touches, t => t.Id == "midpoint");
    }

    [Fact]
    public void MidpointAnswersAreKeptInQuestionOrderAndALaterSubmissionReplacesTheEarlier()
    {
        var loop = AfterSessions(4);
        var at = A.T("2026-06-24T15:00Z");

        loop.Expect(new FeedbackSubmitted(FeedbackKind.Midpoint, [new("focus", " Delegation "), new("mostUseful", "The weekly check")], Channel.InApp), at);
        loop.Expect(new FeedbackSubmitted(FeedbackKind.Midpoint, [new("adjust", "Shorter sessions"), new("mostUseful", "Prep emails")], Channel.Email), at.AddHours(1));

        var feedback = Assert.Single(loop.State.Feedback);
        Assert.Equal(FeedbackKind.Midpoint, feedback.Kind);
        Assert.Equal([new ArcAnswer("mostUseful", "Prep emails"), new ArcAnswer("adjust", "Shorter sessions")], feedback.Answers);
        Assert.Equal((Channel.Email, at.AddHours(1)), (feedback.Channel, feedback.At));
    }

    [Theory]
    [InlineData("startingChallenge", "Time", "'startingChallenge' is not a midpoint question")]
    [InlineData("adjust", "  ", "answer at least one question")]
    public void FeedbackOnlyAnswersItsOwnQuestions(string key, string text, string detail)
    {
        var loop = AfterSessions(1);

        var d = loop.Tell(new FeedbackSubmitted(FeedbackKind.Midpoint, [new(key, text)], Channel.InApp), A.T("2026-06-02T15:00Z"));

        Assert.Equal((Rejection.Invalid, detail), (d.Rejected?.Code, d.Rejected?.Detail));
    }

    [Fact]
    public void ClosingAnswersAreAcceptedAfterTheProgramEnded()
    {
        var loop = AfterSessions(2);
        loop.Expect(new ProgramEnded("program completed"), A.T("2026-06-09T15:00Z"));

        loop.Expect(new FeedbackSubmitted(FeedbackKind.Closing, [new("learned", "I ask for what I need")], Channel.InApp), A.T("2026-06-10T15:00Z"));

        Assert.Equal("I ask for what I need", loop.State.Feedback.Single().Answers.Single().Text);
        Assert.Equal(ClientStatus.Done, loop.State.Status);
    }

    [Fact]
    public void AReflectionIsTiedToTheCurrentSessionOrTheOneAsked()
    {
        var loop = AfterSessions(2);

        loop.Expect(new ReflectionSubmitted(" Asking directly felt easier than I feared. ", null, null, Channel.InApp), A.T("2026-06-10T15:00Z"));
        loop.Expect(new ReflectionSubmitted("Looking back at week one", 1, null, Channel.InApp), A.T("2026-06-10T16:00Z"));

        Assert.Equal([new Reflection("rf1", 2, "Asking directly felt easier than I feared.", Channel.InApp, A.T("2026-06-10T15:00Z")),
                      new Reflection("rf2", 1, "Looking back at week one", Channel.InApp, A.T("2026-06-10T16:00Z"))], loop.State.Reflections);
    }

    [Fact]
    public void AReplyToThePrepEmailReflectsOnTheSessionThatEmailPreparedFor()
    {
        var loop = AfterSessions(2);
        loop.RunUntil(A.T("2026-06-14T13:00Z")); // session 2's Day-6 prep

        loop.Expect(new ReflectionSubmitted("The calls went better than last week", null, "s1-day6", Channel.Email), A.T("2026-06-14T15:00Z"));
        loop.Expect(new ReflectionSubmitted("Ready for Monday", null, "s2-day6", Channel.Email), A.T("2026-06-14T16:00Z"));

        Assert.Equal([(1, "s1-day6"), (2, "s2-day6")], loop.State.Reflections.Select(r => (r.Session, r.ReplyToTouchId)));
    }

    [Fact]
    public void ThePrepEmailInvitesAReflectionByReply()
    {
        var loop = AfterSessions(1);
        loop.RunUntil(A.T("2026-06-07T13:00Z"));

        Assert.EndsWith("Reply to this email with a short reflection: Sam Rivera reads it before the call.", loop.SentTouch("s1-day6").Body);
    }

    [Fact]
    public void ReflectionsAreRefusedWithoutASessionOrForOneNeverLogged()
    {
        var loop = LoopScenario.Enrolled();
        Assert.Equal(Rejection.Conflict, loop.Tell(new ReflectionSubmitted("hello", null, null, Channel.InApp), A.SessionAt).Rejected?.Code);

        loop = AfterSessions(1);
        Assert.Equal(Rejection.Invalid, loop.Tell(new ReflectionSubmitted("hello", 3, null, Channel.InApp), A.SessionAt.AddDays(1)).Rejected?.Code);
        Assert.Equal(Rejection.NotFound, loop.Tell(new ReflectionSubmitted("hello", null, "s9-day6", Channel.Email), A.SessionAt.AddDays(1)).Rejected?.Code);
        Assert.Equal(Rejection.Invalid, loop.Tell(new ReflectionSubmitted(" ", null, null, Channel.InApp), A.SessionAt.AddDays(1)).Rejected?.Code);
        Assert.Equal(Rejection.Invalid, loop.Tell(new ReflectionSubmitted(new string('x', 4001), null, null, Channel.InApp), A.SessionAt.AddDays(1)).Rejected?.Code);
    }

    [Fact]
    public void AReflectionMeansTheClientIsNotSilent()
    {
        var loop = AfterSessions(1);
        loop.RunUntil(A.T("2026-06-06T13:00Z")); // Day-5 check sent; its silence deadline is Sunday 13:00Z

        loop.Expect(new ReflectionSubmitted("Busy week, but I made one call", null, null, Channel.InApp), A.T("2026-06-06T20:00Z"));
        loop.RunUntil(A.T("2026-06-07T14:00Z"));

        Assert.Equal(ClientStatus.OnTrack, loop.State.Status);
        Assert.Empty(loop.Alerts);
    }

    [Fact]
    public void LeavingEarlyIsRecordedCompletingIsNot()
    {
        var early = AfterSessions(2);
        early.Expect(new ProgramEnded("left the program early") { Early = true }, A.T("2026-06-10T15:00Z"));
        Assert.Equal(A.T("2026-06-10T15:00Z"), early.State.EndedEarlyAt);

        var completed = AfterSessions(2);
        completed.Expect(new ProgramEnded("program completed"), A.T("2026-06-10T15:00Z"));
        Assert.Null(completed.State.EndedEarlyAt);
        Assert.Equal(ClientStatus.Done, completed.State.Status);
    }

    [Fact]
    public void TheSameGroupSessionOrInboundEventIsLoggedOnce()
    {
        var loop = LoopScenario.Enrolled();
        var group = A.Session() with { GroupSessionId = "grp_1" };
        var fromCrm = A.Session(at: A.NextSessionAt, next: A.NextSessionAt.AddDays(7)) with { SourceEventId = "evt_42" };

        loop.Expect(group, A.SessionAt.AddHours(1));
        Assert.Empty(loop.Expect(group, A.SessionAt.AddHours(2)).Effects);
        loop.Expect(fromCrm, A.NextSessionAt.AddHours(1));
        Assert.Empty(loop.Expect(fromCrm, A.NextSessionAt.AddHours(2)).Effects);

        Assert.Equal([(1, "grp_1", (string?)null), (2, null, "evt_42")], loop.State.Sessions.Select(s => (s.Number, s.GroupSessionId, s.SourceEventId)));
    }
}

/// <summary>What the client's loop tells the org's webhooks, and the touch facts behind the per-template reply rates.</summary>
public class LoopEventsAndFactsTests
{
    private static IEnumerable<ClientEvent> Events(Decision<ClientLoopState> d) => d.Effects.OfType<PublishEvent>().Select(p => p.Event);

    [Fact]
    public void AStuckReplyPublishesTheReplyAndTheStuckClientWithStableIds()
    {
        var loop = LoopScenario.AfterSession();
        loop.RunUntil(A.T("2026-06-06T13:00Z"));

        var d = loop.Expect(A.Reply("2 stuck on pricing"), A.T("2026-06-06T14:00Z"));

        var events = Events(d).ToList();
        Assert.Equal(["client-1.checkin.replied.r1", "client-1.client.stuck.e1"], events.Select(e => e.Id));
        var replied = events[0];
        Assert.Equal((WebhookEvents.CheckinReplied, 2, "2 stuck on pricing", "s1-day5", "stuck"),
            (replied.Type, replied.Data.Rating, replied.Data.Text, replied.Data.PromptId, replied.Data.Route));
        Assert.Equal(new ClientEventData("client-1", "Dana Whitfield", "cohort-1", "coach-1"),
            replied.Data with { Rating = null, Text = null, PromptId = null, Route = null });
        var stuck = events[1];
        Assert.Equal((WebhookEvents.ClientStuck, "stuck", "e1"), (stuck.Type, stuck.Data.Status, stuck.Data.EscalationId));
        Assert.Contains("rated 2", stuck.Data.Detail);
    }

    [Fact]
    public void SilencePublishesClientSilentAndACompletedActionPublishesOnce()
    {
        var loop = LoopScenario.AfterSession();
        loop.RunUntil(A.T("2026-06-06T13:00Z"));

        var silent = loop.Fire("silent:s1-day5", A.T("2026-06-07T13:00Z"));
        Assert.Equal(WebhookEvents.ClientSilent, Assert.Single(Events(silent)).Type);

        var done = loop.Expect(new ActionItemCompleted("s1-a1"), A.T("2026-06-07T15:00Z"));
        var completed = Assert.Single(Events(done));
        Assert.Equal(("client-1.action.completed.s1-a1", "s1-a1", "Make two prospecting calls"), (completed.Id, completed.Data.ItemId, completed.Data.What));
        Assert.Empty(loop.Expect(new ActionItemCompleted("s1-a1"), A.T("2026-06-07T16:00Z")).Effects);
    }

    [Fact]
    public void FactsRecordEachAnswerableTouchItsVersionAndItsFirstAnswer()
    {
        var program = A.Program(weeklyCap: 2, cadence: ProgramDefinition.DefaultCadence.SetItem(0,
            ProgramDefinition.DefaultCadence[0] with { Template = "Hi {firstName}, one step on {firstCommitment}?", TemplateVersion = 3 }));
        var loop = LoopScenario.AfterSession(A.Enroll(program: program) with { Norms = ProgramArcTests.Norms }, A.Session(program: program));
        loop.RunUntil(A.T("2026-06-03T13:00Z"));
        loop.Expect(A.Reply("getting there"), A.T("2026-06-03T15:00Z"));
        loop.Expect(A.Reply("4 made one", promptId: "s1-day2"), A.T("2026-06-03T16:00Z"));
        loop.RunUntil(A.T("2026-06-07T13:00Z")); // day 5 sent; day 6 skipped by the cap of 2

        var facts = PromptAnalytics.Facts(loop.State);

        // The welcome and the skipped prep ask nothing that was sent: not in the figures.
        Assert.Equal(
        [
            new TouchFact("s1-day2", "day2", 3, "nudge", Channel.Sms, A.T("2026-06-03T13:00Z"), A.T("2026-06-03T15:00Z"), 4),
            new TouchFact("s1-day5", "day5", 1, "progress-check", Channel.Sms, A.T("2026-06-06T13:00Z"), null, null),
        ], facts);
    }

    [Fact]
    public void APrepEmailIsAnsweredByAReflectionAndTheMidpointByItsAnswers()
    {
        var loop = ProgramArcTests.AfterSessions(4);
        loop.RunUntil(A.T("2026-06-28T13:00Z"));
        loop.Expect(new ReflectionSubmitted("Ready", null, "s4-day6", Channel.Email), A.T("2026-06-28T14:00Z"));
        loop.Expect(new FeedbackSubmitted(FeedbackKind.Midpoint, [new("progress", "More calls")], Channel.InApp), A.T("2026-06-28T15:00Z"));

        var facts = PromptAnalytics.Facts(loop.State).ToDictionary(f => f.TouchId);

        Assert.Equal(("prep", A.T("2026-06-28T14:00Z")), (facts["s4-day6"].Kind, facts["s4-day6"].RepliedAt));
        Assert.Null(facts["s3-day6"].RepliedAt);
        Assert.Equal(("midpoint", A.Local(A.NewYork, 2026, 6, 23, 9, 0), A.T("2026-06-28T15:00Z")),
            (facts["midpoint"].Kind, facts["midpoint"].SentAt, facts["midpoint"].RepliedAt));
    }
}

public class EmailReplyAndNormsTests
{
    [Theory]
    [InlineData("Went well.\n\nOn Sun, 7 Jun 2026 at 09:00, Sam <sam@example.com> wrote:\n> Hi Dana, before our call…", "Went well.")]
    [InlineData("Two calls done\r\n> quoted line\r\nand one more thought\r\n-- \r\nDana\r\nSent from my phone", "Two calls done\nand one more thought")]
    [InlineData("Short\n-----Original Message-----\nFrom: Sam", "Short")]
    [InlineData("  Nothing quoted  ", "Nothing quoted")]
    public void AnEmailReplyKeepsOnlyWhatTheClientWrote(string body, string expected) =>
        Assert.Equal(expected, EmailReply.StripQuoted(body));

    [Fact]
    public void NormsReadAsOneParagraph()
    {
        var norms = new CommunicationNorms([Channel.InApp], 48, "Brief messages.");

        Assert.Equal("You can reach Maya between sessions by the portal; expect a reply within 2 days. Included between sessions: Brief messages.",
            norms.Describe("Maya"));
    }
}
