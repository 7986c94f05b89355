using System.Collections.Immutable;
using CohortGrains.Domain.ClientLoops;
using CohortGrains.Domain.Common;
using CohortGrains.Domain.Programs;

namespace CohortGrains.Domain.Tests;

public class WeeklyCapTests
{
    private static LoopScenario FiveTouchWeek(int cap = ProgramDefinition.DefaultWeeklyCap)
    {
        // Five touchpoints in one week, the fifth a progress check.
        var cadence = A.DailyNudges(4).Add(new Touchpoint("day5", 5, Channel.Sms, TouchKind.ProgressCheck));
        var program = A.Program(cadence, weeklyCap: cap);
        return LoopScenario.AfterSession(A.Enroll(program: program), A.Session(program: program));
    }

    [Fact]
    public void TheFifthTouchInAWeekIsRecordedAsSkipped()
    {
        var loop = FiveTouchWeek();
        loop.RunUntil(A.T("2026-06-05T13:00Z")); // days 1–4 sent

        var fifth = loop.Fire("touch:1:day5", A.T("2026-06-06T13:00Z"));

        Assert.Empty(fifth.Effects); // no SendTouch, and no silence deadline for a check that never went out
        var record = loop.State.Touches.Single(t => t.TouchpointKey == "day5");
        Assert.NotNull(record.SkippedBecause);
        Assert.Contains("weekly cap of 4", record.SkippedBecause);
        Assert.Equal(4, loop.Sent.Count);
        Assert.Equal("s1-day4", loop.State.OpenPromptId); // a skipped prompt does not become the open one
    }

    [Fact]
    public void ASkippedPromptCannotBeRepliedTo()
    {
        var loop = FiveTouchWeek();
        loop.RunUntil(A.NextSessionAt);

        Assert.Equal(Rejection.NotFound, loop.Tell(A.Reply("4", promptId: "s1-day5"), A.T("2026-06-06T14:00Z")).Rejected?.Code);
    }

    [Fact]
    public void TheCapIsEditablePerProgram()
    {
        var loop = FiveTouchWeek(cap: 5);
        loop.RunUntil(A.NextSessionAt);

        Assert.Equal(5, loop.Sent.Count);
        Assert.All(loop.State.Touches, t => Assert.Null(t.SkippedBecause));
    }

    [Fact]
    public void SlotOffersDoNotCountTowardTheCap()
    {
        var loop = FiveTouchWeek();
        loop.RunUntil(A.T("2026-06-04T13:00Z")); // days 1–3 sent
        loop.Expect(A.Reply("2 stuck on pricing"), A.T("2026-06-04T14:00Z"));
        var e = loop.State.Escalations.Single();
        loop.Expect(new SlotOffered(e.Id, A.T("2026-06-05T15:00Z")), A.T("2026-06-04T14:01Z"));
        Assert.Contains(loop.Sent, s => s.Touch.Id == $"offer-{e.Id}");

        loop.RunUntil(A.T("2026-06-05T13:00Z"));

        Assert.Contains(loop.Sent, s => s.Touch.Id == "s1-day4"); // 3 nudges + 1 offer: the 4th nudge still goes
        Assert.False(loop.State.Touches.Single(t => t.Id == $"offer-{e.Id}").CountsTowardCap);
    }

    [Fact]
    public void TheCapIsARolling7DaysAcrossSessions()
    {
        // Two short cycles in one week (Mon→Thu, Thu→Mon), two nudges each, cap 3.
        var program = A.Program(A.DailyNudges(2), weeklyCap: 3);
        var loop = LoopScenario.AfterSession(A.Enroll(program: program), A.Session(next: A.T("2026-06-04T18:00Z"), program: program));
        loop.RunUntil(A.T("2026-06-04T18:00Z"));
        loop.Expect(A.Session(at: A.T("2026-06-04T18:00Z"), next: A.T("2026-06-08T18:00Z"), program: program), A.T("2026-06-04T19:00Z"));

        loop.RunUntil(A.T("2026-06-08T18:00Z"));

        Assert.Equal(["s1-day1", "s1-day2", "s2-day1"], loop.Sent.Select(s => s.Touch.Id));
        Assert.NotNull(loop.State.Touches.Single(t => t.Id == "s2-day2").SkippedBecause);
    }

    [Fact]
    public void TouchesOlderThan7DaysNoLongerCount()
    {
        var program = A.Program(A.DailyNudges(4), weeklyCap: 4);
        var loop = LoopScenario.AfterSession(A.Enroll(program: program), A.Session(program: program));
        loop.RunUntil(A.NextSessionAt);
        loop.Expect(A.Session(at: A.NextSessionAt, next: A.NextSessionAt.AddDays(7), program: program), A.NextSessionAt.AddHours(1));

        loop.RunUntil(A.NextSessionAt.AddDays(7));

        Assert.Equal(8, loop.Sent.Count);
        Assert.All(loop.State.Touches, t => Assert.Null(t.SkippedBecause));
    }
}
