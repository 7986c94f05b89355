using CohortGrains.Domain.ClientLoops;
using CohortGrains.Domain.Programs;

namespace CohortGrains.Domain.Tests;

/// <summary>
/// 2026 changes: New York springs forward Sun 03-08 and falls back Sun 11-01; Berlin Sun 03-29 and Sun 10-25.
/// Each test runs a week of daily touches (session on Thursday, touches Fri..Wed) straddling the change.
/// </summary>
public class DaylightSavingTests
{
    private static LoopScenario DailyWeek(string zone, DateTimeOffset sessionAt, int preferredHour, QuietHours? quiet = null)
    {
        var program = A.Program(A.DailyNudges(6), weeklyCap: 14);
        var enroll = A.Enroll(A.Profile(zone, preferredHour, quiet), program: program);
        return LoopScenario.AfterSession(enroll, A.Session(at: sessionAt, next: sessionAt.AddDays(7), program: program), sessionAt.AddMinutes(30));
    }

    private static void AssertWeek(LoopScenario loop, params string[] expectedUtc)
    {
        var expected = expectedUtc.Select(A.T).ToList();
        Assert.Equal(expected, Enumerable.Range(1, 6).Select(d => loop.Due($"touch:1:day{d}")));

        loop.RunUntil(expected[^1].AddDays(1));

        // Sent exactly once each, at the planned instant, and nothing was ever scheduled twice.
        Assert.Equal(expected, loop.Sent.Select(s => s.At));
        Assert.Equal(6, loop.Sent.Select(s => s.Touch.Id).Distinct().Count());
        Assert.Equal(6, loop.Scheduled.Count);
    }

    private static void AssertSameLocalHour(LoopScenario loop, string zone, int hour)
    {
        var tz = Zones.Find(zone);
        var locals = loop.Sent.Select(s => Zones.ToLocal(s.At, tz)).ToList();
        Assert.All(locals, l => Assert.Equal(new TimeOnly(hour, 0), TimeOnly.FromDateTime(l)));
        Assert.Equal(locals.Count, locals.Select(l => l.Date).Distinct().Count()); // one per day
    }

    [Fact]
    public void NewYorkSpringForwardWeekKeeps0900Local()
    {
        // Session Thu 03-05 14:00 EST. 09:00 EST = 14:00Z until Sat; 09:00 EDT = 13:00Z from Sun.
        var loop = DailyWeek(A.NewYork, A.T("2026-03-05T19:00Z"), 9);

        AssertWeek(loop,
            "2026-03-06T14:00Z", "2026-03-07T14:00Z",
            "2026-03-08T13:00Z", "2026-03-09T13:00Z", "2026-03-10T13:00Z", "2026-03-11T13:00Z");
        AssertSameLocalHour(loop, A.NewYork, 9);
    }

    [Fact]
    public void NewYorkFallBackWeekKeeps0900Local()
    {
        // Session Thu 10-29 14:00 EDT. 09:00 EDT = 13:00Z until Sat; 09:00 EST = 14:00Z from Sun.
        var loop = DailyWeek(A.NewYork, A.T("2026-10-29T18:00Z"), 9);

        AssertWeek(loop,
            "2026-10-30T13:00Z", "2026-10-31T13:00Z",
            "2026-11-01T14:00Z", "2026-11-02T14:00Z", "2026-11-03T14:00Z", "2026-11-04T14:00Z");
        AssertSameLocalHour(loop, A.NewYork, 9);
    }

    [Fact]
    public void BerlinSpringForwardWeekKeeps0900Local()
    {
        // 09:00 CET = 08:00Z until Sat 03-28; 09:00 CEST = 07:00Z from Sun 03-29.
        var loop = DailyWeek(A.Berlin, A.T("2026-03-26T13:00Z"), 9);

        AssertWeek(loop,
            "2026-03-27T08:00Z", "2026-03-28T08:00Z",
            "2026-03-29T07:00Z", "2026-03-30T07:00Z", "2026-03-31T07:00Z", "2026-04-01T07:00Z");
        AssertSameLocalHour(loop, A.Berlin, 9);
    }

    [Fact]
    public void BerlinFallBackWeekKeeps0900Local()
    {
        // 09:00 CEST = 07:00Z until Sat 10-24; 09:00 CET = 08:00Z from Sun 10-25.
        var loop = DailyWeek(A.Berlin, A.T("2026-10-22T12:00Z"), 9);

        AssertWeek(loop,
            "2026-10-23T07:00Z", "2026-10-24T07:00Z",
            "2026-10-25T08:00Z", "2026-10-26T08:00Z", "2026-10-27T08:00Z", "2026-10-28T08:00Z");
        AssertSameLocalHour(loop, A.Berlin, 9);
    }

    [Fact]
    public void AnEarlyMorningPreferenceDefersTo0800OnTheNightOfTheChange()
    {
        // Preferred 07:00 is in quiet hours every day; 08:00 local on both sides of the New York change.
        var loop = DailyWeek(A.NewYork, A.T("2026-03-05T19:00Z"), 7);

        AssertWeek(loop,
            "2026-03-06T13:00Z", "2026-03-07T13:00Z",
            "2026-03-08T12:00Z", "2026-03-09T12:00Z", "2026-03-10T12:00Z", "2026-03-11T12:00Z");
        AssertSameLocalHour(loop, A.NewYork, 8);
    }

    [Theory]
    [InlineData(A.NewYork, "2026-03-08", "02:30", "2026-03-08T07:30Z")] // 03:30 EDT
    [InlineData(A.NewYork, "2026-03-08", "02:00", "2026-03-08T07:00Z")] // 03:00 EDT
    [InlineData(A.Berlin, "2026-03-29", "02:30", "2026-03-29T01:30Z")]  // 03:30 CEST
    public void ATimeInsideTheSpringGapMovesForwardByTheGap(string zone, string date, string time, string expected) =>
        Assert.Equal(A.T(expected), Zones.ToInstant(DateOnly.Parse(date), TimeOnly.Parse(time), Zones.Find(zone)));

    [Theory]
    [InlineData(A.NewYork, "2026-11-01", "01:30", "2026-11-01T05:30Z")] // 01:30 EDT, not 01:30 EST (06:30Z)
    [InlineData(A.NewYork, "2026-11-01", "01:00", "2026-11-01T05:00Z")]
    [InlineData(A.Berlin, "2026-10-25", "02:30", "2026-10-25T00:30Z")]  // 02:30 CEST, not 02:30 CET (01:30Z)
    public void AnAmbiguousFallBackTimeResolvesToItsFirstOccurrence(string zone, string date, string time, string expected) =>
        Assert.Equal(A.T(expected), Zones.ToInstant(DateOnly.Parse(date), TimeOnly.Parse(time), Zones.Find(zone)));

    [Fact]
    public void APreferredHourInTheSpringGapFiresOnceAnHourLaterThatDayOnly()
    {
        // A night owl with no quiet hours who likes 02:00: on 03-08 02:00 does not exist in New York.
        var loop = DailyWeek(A.NewYork, A.T("2026-03-05T19:00Z"), 2, A.NoQuietHours);

        AssertWeek(loop,
            "2026-03-06T07:00Z", "2026-03-07T07:00Z", // 02:00 EST
            "2026-03-08T07:00Z",                      // 03:00 EDT (02:00 + the 1 h gap)
            "2026-03-09T06:00Z", "2026-03-10T06:00Z", "2026-03-11T06:00Z"); // 02:00 EDT
    }

    [Fact]
    public void APreferredHourInTheBerlinSpringGapMovesForwardByTheGap()
    {
        var loop = DailyWeek(A.Berlin, A.T("2026-03-26T13:00Z"), 2, A.NoQuietHours);

        Assert.Equal(A.T("2026-03-29T01:00Z"), loop.Due("touch:1:day3")); // 03:00 CEST
    }

    [Fact]
    public void AnAmbiguousPreferredHourFiresOnceAtItsFirstOccurrence()
    {
        // 01:00 happens twice in New York on 11-01 (05:00Z EDT, then 06:00Z EST): the touch goes once, at 05:00Z.
        var loop = DailyWeek(A.NewYork, A.T("2026-10-29T18:00Z"), 1, A.NoQuietHours);

        AssertWeek(loop,
            "2026-10-30T05:00Z", "2026-10-31T05:00Z",
            "2026-11-01T05:00Z",
            "2026-11-02T06:00Z", "2026-11-03T06:00Z", "2026-11-04T06:00Z");
    }

    [Fact]
    public void AnAmbiguousBerlinPreferredHourFiresOnceAtItsFirstOccurrence()
    {
        // 02:00 happens twice in Berlin on 10-25 (00:00Z CEST, then 01:00Z CET).
        var loop = DailyWeek(A.Berlin, A.T("2026-10-22T12:00Z"), 2, A.NoQuietHours);

        AssertWeek(loop,
            "2026-10-23T00:00Z", "2026-10-24T00:00Z",
            "2026-10-25T00:00Z",
            "2026-10-26T01:00Z", "2026-10-27T01:00Z", "2026-10-28T01:00Z");
    }

    [Fact]
    public void QuietHoursEndingOnTheMorningAfterTheChangeUseTheNewOffset()
    {
        var zone = Zones.Find(A.NewYork);

        // Sat 03-07 23:00 EST (04:00Z Sun) → Sun 08:00 EDT (12:00Z), not 13:00Z.
        Assert.Equal(A.T("2026-03-08T12:00Z"), Zones.NextAllowed(A.T("2026-03-08T04:00Z"), QuietHours.Default, zone));
        // Sat 10-31 23:00 EDT (03:00Z Sun) → Sun 08:00 EST (13:00Z).
        Assert.Equal(A.T("2026-11-01T13:00Z"), Zones.NextAllowed(A.T("2026-11-01T03:00Z"), QuietHours.Default, zone));
    }

    [Fact]
    public void NextSessionTextUsesTheClientsLocalTimeAcrossTheChange()
    {
        // Session Thu 03-05 14:00 EST (19:00Z); the next one Thu 03-12 14:00 EDT is 18:00Z.
        var loop = LoopScenario.AfterSession(session: A.Session(at: A.T("2026-03-05T19:00Z"), next: A.T("2026-03-12T18:00Z")));

        Assert.Equal("Thu 14:00", Templates.NextSessionText(loop.State));
    }
}
