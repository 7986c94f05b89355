using System.Collections.Immutable;
using CohortGrains.Domain.ClientLoops;
using CohortGrains.Domain.Common;
using CohortGrains.Domain.Programs;

namespace CohortGrains.Domain.Tests;

public class CadenceTests
{
    [Fact]
    public void SessionCompletedSchedulesDay2Day5Day6AtThePreferredLocalHour()
    {
        // Session Mon 2026-06-01 14:00 EDT; client in New York prefers 09:00 (EDT = UTC-4).
        var loop = LoopScenario.AfterSession();

        Assert.Equal(A.T("2026-06-03T13:00Z"), loop.Due("touch:1:day2"));
        Assert.Equal(A.T("2026-06-06T13:00Z"), loop.Due("touch:1:day5"));
        Assert.Equal(A.T("2026-06-07T13:00Z"), loop.Due("touch:1:day6"));
        Assert.Equal(3, loop.Timers.Count);
    }

    [Fact]
    public void CadenceUsesTheClientsZoneNotTheSessionsOrUtc()
    {
        // Same session instant, a client in Berlin (CEST = UTC+2) who prefers 18:00.
        var loop = LoopScenario.AfterSession(A.Enroll(A.Profile(A.Berlin, preferredHour: 18)));

        Assert.Equal(A.T("2026-06-03T16:00Z"), loop.Due("touch:1:day2"));
        Assert.Equal(A.T("2026-06-06T16:00Z"), loop.Due("touch:1:day5"));
    }

    [Fact]
    public void DayOffsetCountsFromTheSessionsLocalDateInTheClientsZone()
    {
        // 2026-06-02T02:00Z is still Mon 06-01 22:00 in New York: day 2 is Wed 06-03, not Thu.
        var session = A.Session(at: A.T("2026-06-02T02:00Z"), next: A.T("2026-06-09T02:00Z"));
        var loop = LoopScenario.AfterSession(session: session);

        Assert.Equal(A.T("2026-06-03T13:00Z"), loop.Due("touch:1:day2"));
    }

    [Fact]
    public void OffsetsAreEditablePerProgram()
    {
        var cadence = ImmutableList.Create(
            new Touchpoint("kickoff", 1, Channel.Sms, TouchKind.Nudge),
            new Touchpoint("midweek", 3, Channel.Email, TouchKind.ProgressCheck));
        var loop = LoopScenario.AfterSession(session: A.Session(program: A.Program(cadence)));

        Assert.Equal(A.T("2026-06-02T13:00Z"), loop.Due("touch:1:kickoff"));
        Assert.Equal(A.T("2026-06-04T13:00Z"), loop.Due("touch:1:midweek"));
        Assert.Equal(2, loop.Timers.Count);
    }

    [Fact]
    public void CadenceEditsApplyFromTheNextLoggedSession()
    {
        var loop = LoopScenario.AfterSession();
        var edited = A.Program(ImmutableList.Create(new Touchpoint("day3", 3, Channel.Sms, TouchKind.ProgressCheck)));

        loop.Expect(A.Session(at: A.NextSessionAt, next: A.NextSessionAt.AddDays(7), program: edited), A.NextSessionAt.AddHours(1));

        Assert.Equal(edited, loop.State.Program);
        Assert.Equal(["touch:2:day3"], loop.Timers.Keys);
        Assert.Equal(A.T("2026-06-11T13:00Z"), loop.Due("touch:2:day3"));
    }

    [Fact]
    public void ANewSessionCancelsTheRemindersOfThePreviousCycle()
    {
        var loop = LoopScenario.AfterSession();
        loop.RunUntil(A.T("2026-06-03T13:00Z")); // day 2 sent

        // The coach meets early (Thursday) and logs session 2.
        var d = loop.Expect(A.Session(at: A.T("2026-06-04T18:00Z"), next: A.T("2026-06-11T18:00Z")), A.T("2026-06-04T19:00Z"));

        Assert.Contains(new CancelReminder("touch:1:day5"), d.Effects);
        Assert.Contains(new CancelReminder("touch:1:day6"), d.Effects);
        Assert.DoesNotContain(loop.Timers.Keys, k => k.StartsWith("touch:1:", StringComparison.Ordinal));
        Assert.Null(loop.State.OpenPromptId);
        // A stale session-1 timer that fires anyway does nothing.
        Assert.Empty(ClientLoopDecider.Decide(loop.State, new ReminderDue("touch:1:day5"), A.T("2026-06-06T13:00Z")).Effects);
    }

    [Fact]
    public void TouchpointsAtOrAfterTheNextSessionAreSkipped()
    {
        // Next session on Sat 06-06 09:00 EDT — exactly when day 5 would go out.
        var loop = LoopScenario.AfterSession(session: A.Session(next: A.T("2026-06-06T13:00Z")));

        Assert.Equal(["touch:1:day2"], loop.Timers.Keys);
    }

    [Fact]
    public void TouchpointsJustBeforeTheNextSessionAreKept()
    {
        var loop = LoopScenario.AfterSession(session: A.Session(next: A.T("2026-06-06T13:01Z")));

        Assert.Equal(["touch:1:day2", "touch:1:day5"], loop.Timers.Keys);
    }

    [Fact]
    public void ASessionLoggedMoreThan24HoursLateSkipsStaleTouchpoints()
    {
        // Day 2 was due Wed 09:00 EDT; the coach logs the session Thu 11:00 EDT (26 h after).
        var loop = LoopScenario.AfterSession(loggedAt: A.T("2026-06-04T15:00Z"));

        Assert.Equal(["touch:1:day5", "touch:1:day6"], loop.Timers.Keys);
        loop.RunUntil(A.NextSessionAt);
        Assert.DoesNotContain(loop.Sent, s => s.Touch.Template == "day2");
    }

    [Fact]
    public void ASessionLoggedLessThan24HoursLateSendsTheMissedTouchpointNow()
    {
        // Logged Wed 16:00 EDT, 7 h after day 2 was due: it goes out now rather than never.
        var loggedAt = A.T("2026-06-03T20:00Z");
        var loop = LoopScenario.AfterSession(loggedAt: loggedAt);

        Assert.Equal(loggedAt, loop.Due("touch:1:day2"));
    }

    [Fact]
    public void AMissedTouchpointCaughtUpLateAtNightWaitsForMorning()
    {
        // Logged Wed 23:00 EDT: day 2 is 14 h overdue but it is quiet hours, so it goes Thu 08:00 EDT.
        var loop = LoopScenario.AfterSession(loggedAt: A.T("2026-06-04T03:00Z"));

        Assert.Equal(A.T("2026-06-04T12:00Z"), loop.Due("touch:1:day2"));
    }

    [Fact]
    public void TheWholeCycleSendsEachTouchpointOnce()
    {
        var loop = LoopScenario.AfterSession();
        loop.RunUntil(A.NextSessionAt);

        Assert.Equal(["s1-day2", "s1-day5", "s1-day6"], loop.Sent.Select(s => s.Touch.Id));
        Assert.Equal([A.T("2026-06-03T13:00Z"), A.T("2026-06-06T13:00Z"), A.T("2026-06-07T13:00Z")], loop.Sent.Select(s => s.At));
        // Only the silence deadline of the progress check was left, and it has fired.
        Assert.Empty(loop.Timers);
    }

    [Fact]
    public void ARedeliveredTouchReminderSendsNothingTwice()
    {
        var loop = LoopScenario.AfterSession();
        loop.RunUntil(A.T("2026-06-03T13:00Z"));

        var again = ClientLoopDecider.Decide(loop.State, new ReminderDue("touch:1:day2"), A.T("2026-06-03T13:05Z"));

        Assert.Empty(again.Effects);
        Assert.Single(again.State!.Touches, t => t.TouchpointKey == "day2");
    }

    [Fact]
    public void ATouchTimerFiringAfterTheNextSessionStartedIsDropped()
    {
        // A node was down over the weekend: the day-6 prep timer only fires Monday after the call began.
        var loop = LoopScenario.AfterSession();
        loop.RunUntil(A.T("2026-06-06T23:00Z"));

        var d = loop.Fire("touch:1:day6", A.NextSessionAt.AddMinutes(30));

        Assert.DoesNotContain(d.Effects, e => e is SendTouch);
        Assert.DoesNotContain(loop.Timers.Keys, k => k == "touch:1:day6");
    }

    [Fact]
    public void ATouchTimerFiringMoreThanADayLateIsRecordedAsSkippedNotSent()
    {
        // The cluster was down from Tuesday night: the day-2 nudge planned for Wed 09:00 fires on Thursday afternoon.
        var loop = LoopScenario.AfterSession();

        var d = loop.Fire("touch:1:day2", A.T("2026-06-04T18:00Z"));

        Assert.DoesNotContain(d.Effects, e => e is SendTouch);
        var skipped = Assert.Single(d.State!.Touches, t => t.TouchpointKey == "day2");
        Assert.Contains("more than a day late", skipped.SkippedBecause);
    }

    [Fact]
    public void ATouchTimerFiringHoursLateStillSends()
    {
        var loop = LoopScenario.AfterSession();

        var d = loop.Fire("touch:1:day2", A.T("2026-06-04T12:00Z")); // 23 h after Wed 13:00Z

        Assert.Contains(d.Effects, e => e is SendTouch);
    }

    [Fact]
    public void SessionNeedsOneToThreeActionItems()
    {
        var loop = LoopScenario.Enrolled();

        Assert.Equal(Rejection.Invalid, loop.Tell(A.Session(items: []), A.SessionAt).Rejected?.Code);
        Assert.Equal(Rejection.Invalid, loop.Tell(A.Session(items: A.Items("a", "b", "c", "d")), A.SessionAt).Rejected?.Code);
        Assert.Null(loop.Tell(A.Session(items: A.Items("a", "b", "c")), A.SessionAt).Rejected);
        Assert.Equal(["s1-a1", "s1-a2", "s1-a3"], loop.State.CurrentSession!.Items.Select(i => i.Id));
    }

    [Fact]
    public void ABlankActionItemIsNotAnActionItem()
    {
        var loop = LoopScenario.Enrolled();

        Assert.Equal(Rejection.Invalid, loop.Tell(A.Session(items: A.Items("Make two calls", "   ")), A.SessionAt).Rejected?.Code);
    }

    [Fact]
    public void NextSessionMustBeAfterTheSession()
    {
        var loop = LoopScenario.Enrolled();

        Assert.Equal(Rejection.Invalid, loop.Tell(A.Session(next: A.SessionAt), A.SessionAt).Rejected?.Code);
    }

    [Fact]
    public void EnrollTwiceIsAConflictAndAnythingBeforeEnrollIsNotFound()
    {
        Assert.Equal(Rejection.NotFound, ClientLoopDecider.Decide(null, A.Session(), A.SessionAt).Rejected?.Code);
        var loop = LoopScenario.Enrolled();
        Assert.Equal(Rejection.Conflict, loop.Tell(A.Enroll(), A.SessionAt).Rejected?.Code);
    }

    [Theory]
    [InlineData("Mars/Olympus_Mons", 9)]
    [InlineData("", 9)]
    [InlineData(A.NewYork, 24)]
    [InlineData(A.NewYork, -1)]
    public void EnrollRejectsAZoneOrPreferredHourTheCadenceCouldNotUse(string zone, int hour)
    {
        var d = ClientLoopDecider.Decide(null, A.Enroll(A.Profile(zone, hour)), A.SessionAt);

        Assert.Equal(Rejection.Invalid, d.Rejected?.Code);
    }
}
