using System.Collections.Immutable;
using CohortGrains.Domain.ClientLoops;
using CohortGrains.Domain.Coaches;
using CohortGrains.Domain.Cohorts;
using CohortGrains.Domain.Common;
using CohortGrains.Domain.Programs;

namespace CohortGrains.Domain.Tests;

/// <summary>States with every optional field in use, built by driving the deciders (not by hand).</summary>
public static class SampleStates
{
    /// <summary>
    /// Cap 2: day 2 sent, a stuck reply, the coach's slot offered and the alert handled, day 5 sent and answered,
    /// day 6 skipped by the cap, SMS opted out, one action done, then paused.
    /// </summary>
    public static ClientLoopState ClientLoop()
    {
        var program = A.Program(weeklyCap: 2);
        var quiet = new QuietHours(new TimeOnly(22, 0), new TimeOnly(7, 30));
        var loop = LoopScenario.AfterSession(A.Enroll(A.Profile(preferredHour: 9, quiet: quiet), program: program), A.Session(program: program));
        loop.RunUntil(A.T("2026-06-03T13:00Z"));
        loop.Expect(A.Reply("2 stuck on pricing"), A.T("2026-06-03T15:00Z"));
        loop.Expect(new SlotOffered("e1", A.T("2026-06-04T15:00Z")), A.T("2026-06-03T15:01Z"));
        loop.Expect(new EscalationHandled("e1", A.T("2026-06-03T18:00Z")), A.T("2026-06-03T18:00Z"));
        loop.Expect(new ActionItemCompleted("s1-a1"), A.T("2026-06-04T20:00Z"));
        loop.Expect(new ChannelOptedOut(Channel.Sms), A.T("2026-06-05T12:00Z"));
        loop.RunUntil(A.T("2026-06-06T13:00Z"));
        loop.Expect(A.Reply(null, rating: 4, promptId: "s1-day5", channel: Channel.Email), A.T("2026-06-06T14:00Z"));
        loop.RunUntil(A.T("2026-06-07T13:00Z"));
        loop.Expect(new Paused("travelling"), A.T("2026-06-07T14:00Z"));
        return loop.State;
    }

    public static CoachState Coach()
    {
        var at = A.T("2026-06-01T14:00Z");
        var s = CoachDecider.Decide(null, new CreateCoach("coach-1", "Sam Rivera", "sam@example.com", "America/Chicago",
            [new AvailabilityWindow(DayOfWeek.Tuesday, new TimeOnly(10, 0), new TimeOnly(11, 0)),
             new AvailabilityWindow(DayOfWeek.Thursday, new TimeOnly(16, 0), new TimeOnly(17, 30))]), at).State!;
        s = CoachDecider.Decide(s, new ClientEscalated("e1", "client-1", "Dana Whitfield", "cohort-1", EscalationReason.Stuck,
            "rated 2 on Mon: 'stuck on pricing'", at, A.NextSessionAt), at).State!;
        s = CoachDecider.Decide(s, new ClientEscalated("e1", "client-2", "Lee Park", "cohort-1", EscalationReason.Silent,
            "no reply to the check-in sent Sat", at.AddHours(1), A.NextSessionAt), at.AddHours(1)).State!;
        return CoachDecider.Decide(s, new HandleAlert("a1", "Left a voice note"), at.AddHours(2)).State!;
    }

    public static CohortState Cohort()
    {
        var at = A.T("2026-05-20T12:00Z");
        var program = A.Program(ImmutableList.Create(
            new Touchpoint("day2", 2, Channel.Sms, TouchKind.Nudge, "Hi {firstName}, one step on {firstCommitment} today?"),
            new Touchpoint("day5", 5, Channel.Sms, TouchKind.ProgressCheck),
            new Touchpoint("day6", 6, Channel.Email, TouchKind.Prep)), weeklyCap: 3);
        var s = CohortDecider.Decide(null, new CreateCohort("cohort-1", "Spring leaders", "coach-1", program), at).State!;
        return CohortDecider.Decide(s, new ActivateCohort(), at.AddDays(1)).State!;
    }
}
