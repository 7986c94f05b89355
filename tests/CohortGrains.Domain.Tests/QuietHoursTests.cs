using CohortGrains.Domain.ClientLoops;
using CohortGrains.Domain.Common;
using CohortGrains.Domain.Programs;

namespace CohortGrains.Domain.Tests;

public class QuietHoursTests
{
    [Fact]
    public void DefaultQuietHoursAre2100To0800()
    {
        Assert.True(QuietHours.Default.Contains(new TimeOnly(21, 0)));
        Assert.True(QuietHours.Default.Contains(new TimeOnly(2, 0)));
        Assert.True(QuietHours.Default.Contains(new TimeOnly(7, 59)));
        Assert.False(QuietHours.Default.Contains(new TimeOnly(8, 0)));
        Assert.False(QuietHours.Default.Contains(new TimeOnly(20, 59)));
    }

    [Fact]
    public void APreferredHourInsideQuietHoursDefersTo0800Local()
    {
        var loop = LoopScenario.AfterSession(A.Enroll(A.Profile(preferredHour: 6)));

        Assert.Equal(A.T("2026-06-03T12:00Z"), loop.Due("touch:1:day2")); // 08:00 EDT, the first allowed minute
        Assert.Equal(A.T("2026-06-06T12:00Z"), loop.Due("touch:1:day5"));
    }

    [Fact]
    public void ALateEveningPreferredHourDefersToNextMorning()
    {
        var loop = LoopScenario.AfterSession(A.Enroll(A.Profile(preferredHour: 22)));

        Assert.Equal(A.T("2026-06-04T12:00Z"), loop.Due("touch:1:day2")); // Thu 08:00 EDT
    }

    [Fact]
    public void Day5CheckInIsDeferredOutOfQuietHours()
    {
        var loop = LoopScenario.AfterSession(A.Enroll(A.Profile(A.Berlin, preferredHour: 7)));

        Assert.Equal(A.Local(A.Berlin, 2026, 6, 6, 8), loop.Due("touch:1:day5"));
        Assert.Equal(A.T("2026-06-06T06:00Z"), loop.Due("touch:1:day5"));
    }

    [Fact]
    public void AReminderFiringLateInsideQuietHoursIsRescheduledNotSent()
    {
        var loop = LoopScenario.AfterSession();

        // The day-2 timer (due Wed 09:00 EDT) only fires Wed 23:30 EDT.
        var d = loop.Fire("touch:1:day2", A.T("2026-06-04T03:30Z"));

        Assert.DoesNotContain(d.Effects, e => e is SendTouch);
        Assert.Equal([new ScheduleReminder("touch:1:day2", A.T("2026-06-04T12:00Z"))], d.Effects);
        Assert.DoesNotContain(loop.State.Touches, t => t.TouchpointKey == "day2");

        loop.RunUntil(A.T("2026-06-04T12:00Z"));
        Assert.Equal(A.T("2026-06-04T12:00Z"), loop.Sent.Single(s => s.Touch.Id == "s1-day2").At);
    }

    [Fact]
    public void AReminderFiringLateOutsideQuietHoursIsSentAtOnce()
    {
        var loop = LoopScenario.AfterSession();

        var d = loop.Fire("touch:1:day2", A.T("2026-06-03T19:00Z")); // Wed 15:00 EDT

        Assert.Single(d.Effects.OfType<SendTouch>());
    }

    [Fact]
    public void CustomClientQuietHoursAreHonoured()
    {
        // This client sleeps 22:00–06:30 and likes 06:00: 06:30 is the first allowed minute.
        var quiet = new QuietHours(new TimeOnly(22, 0), new TimeOnly(6, 30));
        var loop = LoopScenario.AfterSession(A.Enroll(A.Profile(preferredHour: 6, quiet: quiet)));

        Assert.Equal(A.T("2026-06-03T10:30Z"), loop.Due("touch:1:day2"));
    }

    [Fact]
    public void CustomClientQuietHoursOverrideTheProgramsAndAllowEarlierTouches()
    {
        var quiet = new QuietHours(new TimeOnly(23, 0), new TimeOnly(7, 0));
        var loop = LoopScenario.AfterSession(A.Enroll(A.Profile(preferredHour: 7, quiet: quiet)));

        Assert.Equal(A.T("2026-06-03T11:00Z"), loop.Due("touch:1:day2")); // 07:00 EDT, inside the program's default window
    }

    [Fact]
    public void ADaytimeQuietWindowThatDoesNotWrapMidnightDefersToItsEnd()
    {
        var quiet = new QuietHours(new TimeOnly(12, 0), new TimeOnly(14, 0));
        var loop = LoopScenario.AfterSession(A.Enroll(A.Profile(preferredHour: 13, quiet: quiet)));

        Assert.Equal(A.T("2026-06-03T18:00Z"), loop.Due("touch:1:day2")); // 14:00 EDT the same day
    }

    [Fact]
    public void ProgramQuietHoursApplyWhenTheClientHasNone()
    {
        var program = A.Program(quiet: new QuietHours(new TimeOnly(20, 0), new TimeOnly(10, 0)));
        var loop = LoopScenario.AfterSession(A.Enroll(program: program), A.Session(program: program));

        Assert.Equal(A.T("2026-06-03T14:00Z"), loop.Due("touch:1:day2")); // 10:00 EDT
    }

    [Fact]
    public void ASlotOfferArrivingAtNightWaitsForMorning()
    {
        var loop = LoopScenario.AfterSession();
        loop.Expect(A.Reply("1 totally stuck"), A.T("2026-06-03T00:30Z")); // Tue 20:30 EDT
        var escalation = loop.State.Escalations.Single();

        var d = loop.Expect(new SlotOffered(escalation.Id, A.T("2026-06-04T15:00Z")), A.T("2026-06-03T01:30Z")); // 21:30 EDT

        Assert.DoesNotContain(d.Effects, e => e is SendTouch);
        Assert.Equal(A.T("2026-06-03T12:00Z"), loop.Due($"offer:{escalation.Id}"));
        loop.RunUntil(A.T("2026-06-03T12:00Z"));
        Assert.Contains("Thu 11:00", loop.SentTouch($"offer-{escalation.Id}").Body);
    }

    [Fact]
    public void ARedeliveredSlotOfferAtNightIsHeldOnce()
    {
        var loop = LoopScenario.AfterSession();
        loop.Expect(A.Reply("1 totally stuck"), A.T("2026-06-03T00:30Z"));

        loop.Expect(new SlotOffered("e1", A.T("2026-06-04T15:00Z")), A.T("2026-06-03T01:30Z"));
        loop.Expect(new SlotOffered("e1", A.T("2026-06-04T15:00Z")), A.T("2026-06-03T01:31Z"));

        Assert.Single(loop.State.Reminders, r => r == "offer:e1");
        loop.RunUntil(A.T("2026-06-03T12:00Z"));
        Assert.Single(loop.Sent, s => s.Touch.Id == "offer-e1");
    }

    [Fact]
    public void ASlotThatPassedWhileTheOfferWaitedOutQuietHoursIsNotOffered()
    {
        // A coach in Berlin offers 10:00 CEST = 04:00 EDT: the client hears at 08:00 EDT, after the slot.
        var loop = LoopScenario.AfterSession();
        loop.Expect(A.Reply("1 totally stuck"), A.T("2026-06-03T00:30Z"));
        loop.Expect(new SlotOffered("e1", A.T("2026-06-03T08:00Z")), A.T("2026-06-03T01:30Z"));

        loop.RunUntil(A.T("2026-06-03T12:00Z"));

        var body = loop.SentTouch("offer-e1").Body;
        Assert.DoesNotContain("Wed 04:00", body);
        Assert.Contains("will be in touch before Mon 14:00", body);
    }

    [Fact]
    public void ASlotOfferHeldAtNightSurvivesAPauseAndGoesOutOnResume()
    {
        var loop = LoopScenario.AfterSession();
        loop.Expect(A.Reply("1 totally stuck"), A.T("2026-06-03T00:30Z"));
        loop.Expect(new SlotOffered("e1", A.T("2026-06-04T15:00Z")), A.T("2026-06-03T01:30Z"));
        loop.Expect(new Paused(null), A.T("2026-06-03T02:00Z"));
        Assert.Empty(loop.Timers);

        loop.Expect(new Resumed(), A.T("2026-06-03T14:00Z"));
        loop.RunUntil(A.T("2026-06-03T14:00Z"));

        Assert.Contains("Thu 11:00", loop.SentTouch("offer-e1").Body);
    }

    [Fact]
    public void NextAllowedKeepsAnInstantOutsideQuietHours()
    {
        var zone = Zones.Find(A.NewYork);
        var noon = A.T("2026-06-03T16:00Z");

        Assert.Equal(noon, Zones.NextAllowed(noon, QuietHours.Default, zone));
        Assert.Equal(A.T("2026-06-03T12:00Z"), Zones.NextAllowed(A.T("2026-06-03T05:00Z"), QuietHours.Default, zone)); // 01:00 → 08:00
        Assert.Equal(A.T("2026-06-04T12:00Z"), Zones.NextAllowed(A.T("2026-06-04T01:00Z"), QuietHours.Default, zone)); // 21:00 → 08:00 next day
    }
}
