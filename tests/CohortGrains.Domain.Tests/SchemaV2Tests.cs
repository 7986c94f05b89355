using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using CohortGrains.Domain.ClientLoops;
using CohortGrains.Domain.Coaches;
using CohortGrains.Domain.Common;
using CohortGrains.Domain.Programs;

namespace CohortGrains.Domain.Tests;

/// <summary>
/// Schema v2 (the program arc) added optional members to every state. Samples/v2 holds v2 of each state, frozen;
/// v1 samples must still load, with the new members at their defaults (not null: the source generator sets missing
/// init-only members to default(T), which the states map back).
/// </summary>
public class SchemaV2Tests
{
    private static T Load<T>(string version, string name, JsonTypeInfo<T> info) =>
        JsonSerializer.Deserialize(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Samples", version, name)), info)
        ?? throw new InvalidOperationException(name);

    [Fact]
    public void EveryV2SampleIsVersion2AndEveryStateHasOne()
    {
        var files = Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Samples", "v2"), "*.json").Select(Path.GetFileName).Order().ToList();

        Assert.Equal(["clientLoop.json", "coach.json", "cohort.json"], files);
        foreach (var f in files)
            Assert.Equal(2, JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Samples", "v2", f!)))!["schemaVersion"]!.GetValue<int>());
    }

    [Fact]
    public void AVersion1StateLoadsWithTheNewMembersEmpty()
    {
        var client = Load("v1", "clientLoop.json", DomainJson.Default.ClientLoopState);
        var coach = Load("v1", "coach.json", DomainJson.Default.CoachState);
        var cohort = Load("v1", "cohort.json", DomainJson.Default.CohortState);

        Assert.Empty(client.Reflections);
        Assert.Empty(client.Feedback);
        Assert.Null(client.Norms);
        Assert.Null(client.EndedEarlyAt);
        Assert.All(client.Touches, t => Assert.Null(t.TemplateVersion));
        Assert.All(client.Program.Cadence, t => Assert.Equal(1, t.TemplateVersion));
        Assert.DoesNotContain(PromptAnalytics.Facts(client), f => f.TemplateVersion != 1);
        Assert.Empty(coach.Cohorts);
        Assert.Null(coach.Digest);
        Assert.Empty(cohort.GroupSessions);
        Assert.All(cohort.Program.Cadence, t => Assert.Equal(1, t.TemplateVersion));
        // A v1 client carries on into v2 behaviour: a reflection on its session is accepted.
        var d = ClientLoopDecider.Decide(client, new ReflectionSubmitted("Back from holiday", null, null, Channel.InApp), A.T("2026-06-08T12:00Z"));
        Assert.Equal(1, Assert.Single(d.State!.Reflections).Session);
    }

    [Fact]
    public void ClientLoopStateSchemaVersion2StillLoads()
    {
        var s = Load("v2", "clientLoop.json", DomainJson.Default.ClientLoopState);

        Assert.Equal(2, s.SchemaVersion);
        Assert.Equal(ProgramArcTests.Norms with { Channels = s.Norms!.Channels }, s.Norms);
        Assert.Equal([Channel.Email, Channel.Sms], s.Norms.Channels);
        Assert.Equal([(1, null, null), (2, "grp_1", null), (3, null, "evt_9"), (4, null, null)],
            s.Sessions.Select(x => (x.Number, x.GroupSessionId, x.SourceEventId)));
        Assert.Equal(2, s.Program.Cadence[0].TemplateVersion);
        Assert.Equal(new DateOnly(2026, 6, 1), s.Program.Schedule.FirstSessionDate);
        Assert.Equal(2, s.Touches.Single(t => t.Id == "s3-day2").TemplateVersion);
        Assert.Equal(["welcome", "midpoint"], s.Touches.Where(t => !t.Id.StartsWith('s')).Select(t => t.Id));
        Assert.Equal(new Reflection("rf1", 1, "Asking felt easier than I feared", Channel.Email, A.T("2026-06-07T15:00Z"), "s1-day6"), Assert.Single(s.Reflections));
        var feedback = Assert.Single(s.Feedback);
        Assert.Equal((FeedbackKind.Midpoint, A.T("2026-06-24T15:00Z")), (feedback.Kind, feedback.At));
        Assert.Equal([new ArcAnswer("mostUseful", "The Day-5 check"), new ArcAnswer("adjust", "Fewer texts")], feedback.Answers);
        Assert.Equal(A.T("2026-06-30T15:00Z"), s.EndedEarlyAt);
        Assert.Equal(ClientStatus.Done, s.Status);

        // Its facts are what the analytics table was fed, and it carries on: the closing answers are taken after the early end.
        Assert.Equal(PromptAnalytics.Facts(SampleStatesV2.ClientLoop()), PromptAnalytics.Facts(s));
        var closing = ClientLoopDecider.Decide(s, new FeedbackSubmitted(FeedbackKind.Closing, [new("learned", "Ask early")], Channel.InApp), A.T("2026-07-01T12:00Z"));
        Assert.Equal([FeedbackKind.Midpoint, FeedbackKind.Closing], closing.State!.Feedback.Select(f => f.Kind));
        Assert.Empty(closing.Effects);
    }

    [Fact]
    public void ACoachSavedBeforeTheAlertCounterNumbersItsNextAlertAfterItsOwn()
    {
        // a1 (handled 2026-06-01) and a2 (open); no AlertsRaised in the JSON.
        var s = Load("v2", "coach.json", DomainJson.Default.CoachState);
        Assert.Equal(0, s.AlertsRaised);
        var escalated = new ClientEscalated("e9", "client-9", "Kim Lo", "cohort-1", EscalationReason.Stuck, "rated 1", A.T("2026-06-02T14:00Z"), A.NextSessionAt);

        Assert.Equal(["a1", "a2", "a3"], CoachDecider.Decide(s, escalated, A.T("2026-06-02T14:00Z")).State!.Alerts.Select(a => a.Id));
        // Long after a1 was handled it leaves the list in the same turn, and the new alert is still a3, not a2 again.
        var late = CoachDecider.Decide(s, escalated, A.T("2026-10-01T14:00Z")).State!;
        Assert.Equal(["a2", "a3"], late.Alerts.Select(a => a.Id));
        Assert.Equal(3, late.AlertsRaised);
    }

    [Fact]
    public void CoachStateSchemaVersion2StillLoadsAndPlansItsNextDigest()
    {
        var s = Load("v2", "coach.json", DomainJson.Default.CoachState);

        Assert.Equal(2, s.SchemaVersion);
        Assert.Equal(new DigestSettings(7, true), s.Digest);
        var cohort = Assert.Single(s.Cohorts);
        Assert.Equal(new SessionSchedule(DayOfWeek.Tuesday, new TimeOnly(10, 0), A.NewYork, 2) { FirstSessionDate = new DateOnly(2026, 6, 9) }, cohort.Schedule);
        Assert.Equal((A.T("2026-06-09T12:00Z"), new DateOnly(2026, 6, 9)), (s.NextDigestAt!.Value, s.NextDigestFor!.Value));
        Assert.Equal(24, s.Norms!.ResponseHours);

        var fired = CoachDecider.Decide(s, new CoachReminderDue("digest"), s.NextDigestAt!.Value);
        Assert.Equal(new RequestCoachDigest("coach-1", new DateOnly(2026, 6, 9)), fired.Effects[0]);
        Assert.Equal(new DateOnly(2026, 6, 23), fired.State!.NextDigestFor);
    }

    [Fact]
    public void CohortStateSchemaVersion2StillLoads()
    {
        var s = Load("v2", "cohort.json", DomainJson.Default.CohortState);

        Assert.Equal(2, s.SchemaVersion);
        Assert.Equal([1, 2, 1], s.Program.Cadence.Select(t => t.TemplateVersion));
        var group = Assert.Single(s.GroupSessions);
        Assert.Equal(("grp_1", 2), (group.Id, group.Clients));
        Assert.Equal(["Run the team retro"], group.Items);
        Assert.Empty(s.Program.Validate());
    }
}
