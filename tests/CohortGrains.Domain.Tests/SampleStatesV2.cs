using System.Collections.Immutable;
using CohortGrains.Domain.ClientLoops;
using CohortGrains.Domain.Coaches;
using CohortGrains.Domain.Cohorts;
using CohortGrains.Domain.Common;
using CohortGrains.Domain.Programs;

namespace CohortGrains.Domain.Tests;

/// <summary>Schema v2 states with every new member in use, built by driving the deciders (Samples/v2 holds them frozen).</summary>
public static class SampleStatesV2
{
    /// <summary>
    /// Welcomed with the coach's norms, four sessions (the second a group session, the third from a CRM event) on a
    /// cadence whose Day-2 wording is version 2, the midpoint check sent and answered, a reflection by reply to a prep
    /// email, then left the program early.
    /// </summary>
    public static ClientLoopState ClientLoop()
    {
        var cadence = ProgramDefinition.DefaultCadence.SetItem(0, ProgramDefinition.DefaultCadence[0] with { Template = "Hi {firstName}, one step on {firstCommitment}?", TemplateVersion = 2 });
        var program = A.Program(cadence) with { Schedule = A.Program().Schedule with { FirstSessionDate = new DateOnly(2026, 6, 1) } };
        var loop = LoopScenario.Enrolled(A.Enroll(program: program) with { Norms = ProgramArcTests.Norms });
        for (var i = 0; i < 4; i++)
        {
            var at = A.SessionAt.AddDays(7 * i);
            var session = A.Session(at: at, next: at.AddDays(7), program: program) with
            {
                GroupSessionId = i == 1 ? "grp_1" : null,
                SourceEventId = i == 2 ? "evt_9" : null,
            };
            loop.Expect(session, at.AddHours(1));
            loop.RunUntil(at.AddDays(7).AddMinutes(-1));
            if (i == 0) loop.Expect(new ReflectionSubmitted("Asking felt easier than I feared", null, "s1-day6", Channel.Email), A.T("2026-06-07T15:00Z"));
        }
        loop.Expect(new FeedbackSubmitted(FeedbackKind.Midpoint, [new("mostUseful", "The Day-5 check"), new("adjust", "Fewer texts")], Channel.InApp),
            A.T("2026-06-24T15:00Z"));
        loop.Expect(new ProgramEnded("left the program early") { Early = true }, A.T("2026-06-30T15:00Z"));
        return loop.State;
    }

    public static CoachState Coach()
    {
        var at = A.T("2026-06-01T12:00Z");
        var s = SampleStates.Coach();
        s = CoachDecider.Decide(s, new SetNorms(ProgramArcTests.Norms), at).State!;
        return CoachDecider.Decide(s, new SetDigest(new DigestSettings(7, true),
            [new CoachCohort("cohort-1", "Spring leaders", new SessionSchedule(DayOfWeek.Tuesday, new TimeOnly(10, 0), A.NewYork, 2) { FirstSessionDate = new DateOnly(2026, 6, 9) })]), at).State!;
    }

    public static CohortState Cohort()
    {
        var s = SampleStates.Cohort();
        var at = A.T("2026-06-01T12:00Z");
        var cadence = s.Program.Cadence.SetItem(1, s.Program.Cadence[1] with { Template = "{firstName}, how did {commitments} go? 1-5" });
        s = CohortDecider.Decide(s, new UpdateProgram(s.Program with { Cadence = cadence }), at).State!;
        return CohortDecider.Decide(s, new LogGroupSession("grp_1", ["client-1", "client-2"], A.Session(items: A.Items("Run the team retro"))), at).State!;
    }
}
