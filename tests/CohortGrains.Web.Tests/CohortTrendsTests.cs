using System.Collections.Immutable;
using CohortGrains.Domain.ClientLoops;
using CohortGrains.Domain.Common;
using CohortGrains.Domain.Programs;
using CohortGrains.Host.Web;

namespace CohortGrains.Web.Tests;

/// <summary>The overview's weekly series, computed from the clients' loop states (no browser needed).</summary>
public sealed class CohortTrendsTests
{
    private static readonly DateTimeOffset Week1 = new(2026, 2, 17, 15, 30, 0, TimeSpan.Zero);

    private static ClientLoopState Client(string id, params SessionRecord[] sessions) => new(
        ClientLoopState.CurrentSchemaVersion, id, "coh_1", "coa_1", "Maya Chen",
        new ClientProfile(id, "+14155550101", null, "America/New_York", 9), new Consent(true),
        ProgramDefinition.Default(new SessionSchedule(DayOfWeek.Tuesday, new TimeOnly(10, 0), "America/New_York")),
        ClientStatus.OnTrack, Week1.AddDays(-7), null, Week1.AddDays(-7), [.. sessions], [], [], [], null, []);

    private static SessionRecord Session(int number, params DateTimeOffset?[] completed) =>
        new(number, Week1.AddDays(7 * (number - 1)), Week1.AddDays(7 * number),
            completed.Select((c, i) => new ActionItem($"s{number}-a{i + 1}", "Two calls", null, null, c)).ToImmutableList(),
            new SessionNote("f", "i", "a", "o", "u"));

    private static TouchRecord Prompt(string id, DateTimeOffset at) => new(id, 1, "day5", Channel.Sms, at, "How did it go?", true, true);

    [Fact]
    public void NoSessionMeansNoTrend() => Assert.Empty(CohortTrends.Weekly([Client("a")], Week1.AddDays(30)));

    [Fact]
    public void EachRateCountsWhatHappenedInItsProgramWeek()
    {
        var now = Week1.AddDays(10); // Friday of week 2
        var a = Client("a", Session(1, Week1.AddDays(2), null), Session(2, (DateTimeOffset?)null)) with
        {
            Touches = [Prompt("s1-day5", Week1.AddDays(5)), Prompt("s2-day2", Week1.AddDays(9))],
            Replies = [new ReplyRecord("r1", "s1-day5", 2, "stuck", Channel.Sms, Week1.AddDays(5.1), ReplyRoute.Stuck)],
            // Raised in week 1 and handled before the next session: caught.
            Escalations = [new Escalation("e1", 1, EscalationReason.Stuck, "rated 2", Week1.AddDays(5.1), Week1.AddDays(7), null, Week1.AddDays(6))],
        };
        var b = Client("b", Session(1, Week1.AddDays(1)), Session(2, Week1.AddDays(8))) with
        {
            Touches = [Prompt("s1-day5", Week1.AddDays(5))],
            // Raised in week 2 and not handled yet.
            Escalations = [new Escalation("e1", 2, EscalationReason.Silent, "no reply", Week1.AddDays(8), Week1.AddDays(14))],
        };

        var weeks = CohortTrends.Weekly([a, b], now);

        Assert.Equal([1, 2], weeks.Select(w => w.Week));
        var (w1, w2) = (weeks[0], weeks[1]);
        Assert.Equal(0.5, w1.StuckRate);              // a was stuck in week 1, b was not
        Assert.Equal(0.5, w1.ReplyRate);              // a answered its check-in, b did not
        Assert.Equal(2.0 / 3, w1.ActionCompletionRate); // 2 of the 3 items agreed in week 1's sessions are done
        Assert.Equal(1.0, w1.CatchRate);
        Assert.False(w1.InProgress);
        Assert.Equal(0.0, w2.StuckRate);              // b's escalation was silence, not stuck
        Assert.Equal(0.0, w2.ReplyRate);
        Assert.Equal(0.5, w2.ActionCompletionRate);
        Assert.Equal(0.0, w2.CatchRate);
        Assert.True(w2.InProgress);
    }

    [Fact]
    public void AWeekWithNothingToMeasureIsAGapInTheLineNotAZero()
    {
        var weeks = new[]
        {
            new WeekPoint(1, Week1, 0.1, 0.5, 0.5, 1.0),
            new WeekPoint(2, Week1.AddDays(7), 0.2, null, 0.5, null),
            new WeekPoint(3, Week1.AddDays(14), 0.1, 0.7, 0.6, 0.5, InProgress: true),
        };

        var chart = TrendChart.From(weeks);

        var reply = chart.Lines.Single(l => l.Key == "reply");
        Assert.Equal(2, reply.Segments.Count);
        Assert.Equal(2, reply.Dots.Count);
        Assert.Single(chart.Lines.Single(l => l.Key == "stuck").Segments);
        Assert.Equal("Week 3: reply rate 70%", reply.Dots[1].Title);
        Assert.Equal(["W1", "W2", "W3 (so far)"], chart.XLabels.Select(x => x.Label));
        // 100% is at the top of the plot, 0% at its bottom.
        var catchDots = chart.Lines.Single(l => l.Key == "catch").Dots;
        Assert.Equal(chart.Top, catchDots[0].Y);
        Assert.Equal(chart.Top + chart.PlotHeight / 2.0, catchDots[1].Y);
    }
}
