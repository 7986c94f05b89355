using System.Collections.Immutable;
using CohortGrains.Domain.ClientLoops;
using CohortGrains.Domain.Cohorts;
using CohortGrains.Domain.Common;
using CohortGrains.Domain.Programs;

namespace CohortGrains.Domain.Tests;

public class CohortTests
{
    private static readonly DateTimeOffset Now = A.T("2026-05-20T12:00Z");

    private static CohortState Draft(ProgramDefinition? program = null) =>
        CohortDecider.Decide(null, new CreateCohort("cohort-1", " Spring leaders ", "coach-1", program ?? A.Program()), Now).State!;

    [Fact]
    public void ACohortGoesFromDraftToActiveToEnded()
    {
        var draft = Draft();
        Assert.Equal(CohortLifecycle.Draft, draft.Lifecycle);
        Assert.Equal("Spring leaders", draft.Name);
        Assert.Equal(Now, draft.CreatedAt);

        var active = CohortDecider.Decide(draft, new ActivateCohort(), Now.AddDays(1)).State!;
        Assert.Equal(CohortLifecycle.Active, active.Lifecycle);
        Assert.Equal(Now.AddDays(1), active.ActivatedAt);

        var ended = CohortDecider.Decide(active, new EndCohort(["client-1"]), Now.AddDays(60)).State!;
        Assert.Equal(CohortLifecycle.Ended, ended.Lifecycle);
        Assert.Equal(Now.AddDays(60), ended.EndedAt);
    }

    [Fact]
    public void EndCohortTellsEveryClientTheProgramEnded()
    {
        var active = CohortDecider.Decide(Draft(), new ActivateCohort(), Now).State!;

        var d = CohortDecider.Decide(active, new EndCohort(["client-1", "client-2", "client-3"]), Now.AddDays(56));

        Assert.Equal(["client-1", "client-2", "client-3"], d.Effects.OfType<TellClient>().Select(t => t.ClientId));
        Assert.All(d.Effects.OfType<TellClient>(), t => Assert.IsType<ProgramEnded>(t.Message));
    }

    [Fact]
    public void EndingTwiceTellsNobodyAgain()
    {
        var ended = CohortDecider.Decide(Draft(), new EndCohort(["client-1"]), Now).State!;

        var again = CohortDecider.Decide(ended, new EndCohort(["client-1"]), Now.AddDays(1));

        Assert.Empty(again.Effects);
        Assert.Equal(Now, again.State!.EndedAt);
    }

    [Fact]
    public void AnEndedCohortCannotBeActivatedOrEdited()
    {
        var ended = CohortDecider.Decide(Draft(), new EndCohort([]), Now).State!;

        Assert.Equal(Rejection.Conflict, CohortDecider.Decide(ended, new ActivateCohort(), Now).Rejected?.Code);
        Assert.Equal(Rejection.Conflict, CohortDecider.Decide(ended, new UpdateProgram(A.Program()), Now).Rejected?.Code);
    }

    [Fact]
    public void ActivatingTwiceChangesNothing()
    {
        var active = CohortDecider.Decide(Draft(), new ActivateCohort(), Now).State!;

        var again = CohortDecider.Decide(active, new ActivateCohort(), Now.AddDays(2));

        Assert.Equal(Now, again.State!.ActivatedAt);
        Assert.Empty(again.Effects);
    }

    [Theory]
    [InlineData("weeklyCap", "program.weeklyCap")]
    [InlineData("weeks", "program.weeks")]
    [InlineData("silent", "program.silentAfterHours")]
    [InlineData("zone", "program.schedule.timeZone")]
    [InlineData("interval", "program.schedule.intervalWeeks")]
    [InlineData("emptyCadence", "program.cadence")]
    [InlineData("dayOffset", "program.cadence[0].dayOffset")]
    [InlineData("key", "program.cadence[1].key")]
    [InlineData("duplicateKey", "program.cadence")]
    public void AnInvalidProgramIsRejectedWithTheFieldNamed(string problem, string field)
    {
        var ok = A.Program();
        var program = problem switch
        {
            "weeklyCap" => ok with { WeeklyCap = 0 },
            "weeks" => ok with { Weeks = 0 },
            "silent" => ok with { SilentAfterHours = 0 },
            "zone" => ok with { Schedule = ok.Schedule with { TimeZone = "Eastern Standard Time Zone" } },
            "interval" => ok with { Schedule = ok.Schedule with { IntervalWeeks = 5 } },
            "emptyCadence" => ok with { Cadence = [] },
            "dayOffset" => ok with { Cadence = ok.Cadence.SetItem(0, ok.Cadence[0] with { DayOffset = 7 }) },
            "key" => ok with { Cadence = ok.Cadence.SetItem(1, ok.Cadence[1] with { Key = "day:5" }) },
            "duplicateKey" => ok with { Cadence = ok.Cadence.SetItem(1, ok.Cadence[1] with { Key = "DAY2" }) },
            _ => throw new ArgumentOutOfRangeException(nameof(problem)),
        };

        var created = CohortDecider.Decide(null, new CreateCohort("cohort-1", "x", "coach-1", program), Now);
        var updated = CohortDecider.Decide(Draft(), new UpdateProgram(program), Now);

        Assert.Equal(Rejection.Invalid, created.Rejected?.Code);
        Assert.StartsWith(field + " ", created.Rejected!.Detail);
        Assert.Equal(Rejection.Invalid, updated.Rejected?.Code);
        Assert.StartsWith(field + " ", updated.Rejected!.Detail);
    }

    [Fact]
    public void TheDefaultProgramIsValid()
    {
        Assert.Empty(ProgramDefinition.Default(new SessionSchedule(DayOfWeek.Tuesday, new TimeOnly(14, 0), A.Berlin)).Validate());
        Assert.Equal(4, ProgramDefinition.DefaultWeeklyCap);
        Assert.Equal(["day2", "day5", "day6"], ProgramDefinition.DefaultCadence.Select(t => t.Key));
    }

    [Fact]
    public void AValidProgramUpdateIsKept()
    {
        var edited = A.Program(ImmutableList.Create(new Touchpoint("day3", 3, Channel.Sms, TouchKind.ProgressCheck)), weeklyCap: 3);

        var d = CohortDecider.Decide(Draft(), new UpdateProgram(edited), Now);

        Assert.Equal(edited, d.State!.Program);
    }

    [Fact]
    public void CreatingTwiceConflictsAndNothingExistsBeforeCreate()
    {
        Assert.Equal(Rejection.Conflict, CohortDecider.Decide(Draft(), new CreateCohort("cohort-1", "x", "coach-1", A.Program()), Now).Rejected?.Code);
        Assert.Equal(Rejection.NotFound, CohortDecider.Decide(null, new ActivateCohort(), Now).Rejected?.Code);
    }

    [Fact]
    public void NextSessionFollowsTheSchedule()
    {
        var weekly = new SessionSchedule(DayOfWeek.Monday, new TimeOnly(14, 0), A.NewYork);

        // Just after the Mon 06-01 session → Mon 06-08 14:00 EDT.
        Assert.Equal(A.T("2026-06-08T18:00Z"), Zones.NextSession(weekly, A.SessionAt));
        // From a Wednesday → the coming Monday.
        Assert.Equal(A.T("2026-06-08T18:00Z"), Zones.NextSession(weekly, A.T("2026-06-03T12:00Z")));
        // Across the fall-back change the local time holds: Mon 11-02 14:00 EST = 19:00Z.
        Assert.Equal(A.T("2026-11-02T19:00Z"), Zones.NextSession(weekly, A.T("2026-10-26T18:00Z")));
    }
}
