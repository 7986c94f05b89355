using System.Collections.Immutable;
using CohortGrains.Domain.ClientLoops;
using CohortGrains.Domain.Coaches;
using CohortGrains.Domain.Cohorts;
using CohortGrains.Domain.Common;
using CohortGrains.Domain.Programs;

namespace CohortGrains.Domain.Tests;

/// <summary>Biweekly schedules, group sessions and template versions on the cohort.</summary>
public class ProgramsBeyondWeeklyTests
{
    private static readonly DateTimeOffset Now = A.T("2026-05-20T12:00Z");

    private static SessionSchedule Biweekly(DateOnly? first = null) =>
        new(DayOfWeek.Monday, new TimeOnly(14, 0), A.NewYork, 2) { FirstSessionDate = first };

    [Fact]
    public void ABiweeklyNextSessionIsTwoWeeksAfterTheOneJustHeld()
    {
        // Logged right after Mon 06-01, or the next morning: the next session is Mon 06-15, not 06-08.
        Assert.Equal(A.Local(A.NewYork, 2026, 6, 15, 14), Zones.NextSession(Biweekly(), A.SessionAt.AddMinutes(30)));
        Assert.Equal(A.Local(A.NewYork, 2026, 6, 15, 14), Zones.NextSession(Biweekly(), A.Local(A.NewYork, 2026, 6, 2, 9)));
    }

    [Fact]
    public void AnAnchoredBiweeklyScheduleKnowsItsWeeksEvenWhenLoggedInTheOffWeek()
    {
        var anchored = Biweekly(new DateOnly(2026, 6, 1));

        // Logged a week late (Tue 06-09): the next session is still Mon 06-15. Unanchored, the weekday alone would say 06-22.
        Assert.Equal(A.Local(A.NewYork, 2026, 6, 15, 14), Zones.NextSession(anchored, A.Local(A.NewYork, 2026, 6, 9, 10)));
        Assert.Equal(A.Local(A.NewYork, 2026, 6, 22, 14), Zones.NextSession(Biweekly(), A.Local(A.NewYork, 2026, 6, 9, 10)));
        // Before the program starts the first session is next; across the November change the local time holds.
        Assert.Equal(A.Local(A.NewYork, 2026, 6, 1, 14), Zones.NextSession(anchored, A.T("2026-05-20T12:00Z")));
        Assert.Equal(A.T("2026-11-02T19:00Z"), Zones.NextSession(anchored, A.T("2026-10-20T18:00Z")));
    }

    [Fact]
    public void SessionsListsOnlyTheAnchoredWeeks()
    {
        var sessions = Zones.Sessions(Biweekly(new DateOnly(2026, 6, 1)), A.T("2026-05-30T00:00Z"), A.T("2026-07-01T00:00Z")).ToList();

        Assert.Equal([A.Local(A.NewYork, 2026, 6, 1, 14), A.Local(A.NewYork, 2026, 6, 15, 14), A.Local(A.NewYork, 2026, 6, 29, 14)], sessions);
    }

    [Fact]
    public void TheBiweeklyDefaultCadenceCoversBothWeeksAndPrepsTheDayBeforeTheNextSession()
    {
        var program = ProgramDefinition.Default(Biweekly());

        Assert.Equal(["day2", "day5", "day9", "day12", "day13"], program.Cadence.Select(t => t.Key));
        Assert.Equal(TouchKind.Prep, program.Cadence[^1].Kind);
        Assert.Empty(program.Validate());
        // Never more than the weekly cap in any seven days of the cycle.
        Assert.All(Enumerable.Range(0, 14), start => Assert.True(program.Cadence.Count(t => t.DayOffset >= start && t.DayOffset < start + 7) <= program.WeeklyCap));
    }

    [Fact]
    public void ABiweeklyClientHearsFromUsInTheSecondWeekAndGetsPrepBeforeTheRealNextSession()
    {
        var program = ProgramDefinition.Default(Biweekly()) with { QuietHours = QuietHours.Default };
        var next = A.SessionAt.AddDays(14);
        var loop = LoopScenario.AfterSession(A.Enroll(program: program), A.Session(next: next, program: program));

        loop.RunUntil(next.AddMinutes(-1));

        Assert.Equal(["s1-day2", "s1-day5", "s1-day9", "s1-day12", "s1-day13"], loop.Sent.Select(s => s.Touch.Id));
        var prep = loop.SentTouch("s1-day13");
        Assert.Equal(A.Local(A.NewYork, 2026, 6, 14, 9), loop.Sent.Single(s => s.Touch.Id == "s1-day13").At);
        Assert.Equal("Before our call on Mon 14:00", prep.Subject);
    }

    [Fact]
    public void AFirstSessionDateMustFallOnTheSessionDay()
    {
        var program = A.Program() with { Schedule = Biweekly(new DateOnly(2026, 6, 2)) };

        Assert.Contains(program.Validate(), p => p.Field == "program.firstSessionDate");
    }

    [Fact]
    public void ATemplateWithAnUnknownPlaceholderIsRefused()
    {
        var program = A.Program(ImmutableList.Create(new Touchpoint("day2", 2, Channel.Sms, TouchKind.Nudge, "Hi {firstname}, {firstCommitment}?")));

        var problem = Assert.Single(program.Validate());

        Assert.Equal("program.cadence[0].template", problem.Field);
        Assert.StartsWith("uses unknown placeholder {firstname}", problem.Message);
    }

    private static CohortState Active(ProgramDefinition? program = null)
    {
        var draft = CohortDecider.Decide(null, new CreateCohort("cohort-1", "Spring", "coach-1", program ?? A.Program()), Now).State!;
        return CohortDecider.Decide(draft, new ActivateCohort(), Now).State!;
    }

    [Fact]
    public void EditingATemplateGivesItTheNextVersionAndLeavesTheOthersAlone()
    {
        var cohort = Active();
        var cadence = cohort.Program.Cadence;

        var edited = CohortDecider.Decide(cohort, new UpdateProgram(cohort.Program with
        {
            Cadence = cadence.SetItem(1, cadence[1] with { Template = "{firstName}: {commitments}, 1-5?", TemplateVersion = 9 }),
        }), Now).State!;
        var again = CohortDecider.Decide(edited, new UpdateProgram(edited.Program with
        {
            Cadence = edited.Program.Cadence.SetItem(1, edited.Program.Cadence[1] with { Template = null }).Add(new Touchpoint("day4", 4, Channel.Sms, TouchKind.Nudge)),
        }), Now).State!;

        Assert.Equal([1, 2, 1], edited.Program.Cadence.Select(t => t.TemplateVersion));
        // Back to the default wording is an edit too; a new touchpoint starts at 1.
        Assert.Equal([1, 3, 1, 1], again.Program.Cadence.Select(t => t.TemplateVersion));
    }

    [Fact]
    public void ActivatingAndEndingTellTheCoachTheScheduleForTheDigest()
    {
        var draft = CohortDecider.Decide(null, new CreateCohort("cohort-1", "Spring", "coach-1", A.Program()), Now).State!;

        var activated = CohortDecider.Decide(draft, new ActivateCohort(), Now);
        var rescheduled = CohortDecider.Decide(activated.State, new UpdateProgram(A.Program() with { Schedule = Biweekly() }), Now);
        var cadenceOnly = CohortDecider.Decide(rescheduled.State, new UpdateProgram(rescheduled.State!.Program with { WeeklyCap = 3 }), Now);
        var ended = CohortDecider.Decide(rescheduled.State, new EndCohort([]), Now);

        Assert.Equal(new TellCoach("coach-1", new CohortScheduled("cohort-1", "Spring", A.Program().Schedule, true)), Assert.Single(activated.Effects));
        Assert.Equal(new TellCoach("coach-1", new CohortScheduled("cohort-1", "Spring", Biweekly(), true)), Assert.Single(rescheduled.Effects));
        Assert.Empty(cadenceOnly.Effects);
        Assert.Equal(new TellCoach("coach-1", new CohortScheduled("cohort-1", "Spring", Biweekly(), false)), Assert.Single(ended.Effects));
    }

    [Fact]
    public void AGroupSessionLogsTheSameItemsForEveryActiveClientInOneTurn()
    {
        var cohort = Active();
        var session = A.Session(items: A.Items("Run the team retro", "Share one win in Slack"));

        var d = CohortDecider.Decide(cohort, new LogGroupSession("grp_1", ["client-1", "client-2"], session), Now);

        var told = d.Effects.Cast<TellClient>().ToList();
        Assert.Equal(["client-1", "client-2"], told.Select(t => t.ClientId));
        Assert.All(told, t =>
        {
            var logged = Assert.IsType<SessionCompleted>(t.Message);
            Assert.Equal("grp_1", logged.GroupSessionId);
            Assert.Equal(["Run the team retro", "Share one win in Slack"], logged.Items.Select(i => i.What));
            Assert.Same(cohort.Program, logged.Program);
        });
        var record = d.State!.GroupSessions.Single();
        Assert.Equal(("grp_1", A.SessionAt, 2), (record.Id, record.OccurredAt, record.Clients));
        Assert.Equal(["Run the team retro", "Share one win in Slack"], record.Items);

        // Sent twice (a retried request): nobody is told again.
        Assert.Empty(CohortDecider.Decide(d.State, new LogGroupSession("grp_1", ["client-1", "client-2"], session), Now).Effects);
    }

    [Fact]
    public void GroupSessionsNeedAnActiveCohortWithClients()
    {
        var draft = CohortDecider.Decide(null, new CreateCohort("cohort-1", "Spring", "coach-1", A.Program()), Now).State!;

        Assert.Equal(Rejection.Conflict, CohortDecider.Decide(draft, new LogGroupSession("g", ["c"], A.Session()), Now).Rejected?.Code);
        Assert.Equal(Rejection.Conflict, CohortDecider.Decide(Active(), new LogGroupSession("g", [], A.Session()), Now).Rejected?.Code);
    }

    [Fact]
    public void AGroupSessionRunsTheClientsCadenceLikeAOneToOneSession()
    {
        var cohort = Active();
        var d = CohortDecider.Decide(cohort, new LogGroupSession("grp_1", ["client-1"], A.Session()), Now);
        var loop = LoopScenario.Enrolled();

        loop.Expect(((TellClient)d.Effects.Single()).Message, A.SessionAt.AddHours(1));

        Assert.Equal(["touch:1:day2", "touch:1:day5", "touch:1:day6"], loop.Timers.Keys);
        Assert.Equal("grp_1", loop.State.CurrentSession!.GroupSessionId);
    }
}
