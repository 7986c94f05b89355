using System.Collections.Immutable;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using CohortGrains.Domain.ClientLoops;
using CohortGrains.Domain.Coaches;
using CohortGrains.Domain.Cohorts;
using CohortGrains.Domain.Common;
using CohortGrains.Domain.Programs;

namespace CohortGrains.Domain.Tests;

/// <summary>
/// Grain state is stored as JSON written by <see cref="DomainJson"/>. Every state must round-trip, and a grain must
/// still load every state an earlier release wrote: Samples/v1 holds schema version 1 of each state, frozen.
/// </summary>
public class SerializationTests
{
    private static string SamplePath(string name) => Path.Combine(AppContext.BaseDirectory, "Samples", "v1", name);

    private static T Load<T>(string name, JsonTypeInfo<T> info) =>
        JsonSerializer.Deserialize(File.ReadAllText(SamplePath(name)), info) ?? throw new InvalidOperationException(name);

    private static T RoundTrip<T>(T value, JsonTypeInfo<T> info)
    {
        var json = JsonSerializer.Serialize(value, info);
        var back = JsonSerializer.Deserialize(json, info)!;
        Assert.Equal(json, JsonSerializer.Serialize(back, info));
        return back;
    }

    public static TheoryData<string> ClientLoopStates => new() { "enrolled", "afterSession", "midCycle", "silent", "stuck", "paused", "done" };

    private static ClientLoopState ClientLoopState(string name)
    {
        switch (name)
        {
            case "enrolled": return LoopScenario.Enrolled().State;
            case "afterSession": return LoopScenario.AfterSession().State;
            case "paused": return SampleStates.ClientLoop();
        }
        var loop = LoopScenario.AfterSession();
        loop.RunUntil(A.T("2026-06-06T13:00Z"));
        switch (name)
        {
            case "midCycle": break;
            case "silent": loop.RunUntil(A.T("2026-06-07T13:00Z")); break;
            case "stuck":
                loop.Expect(A.Reply("1 no time, stuck ⭐"), A.T("2026-06-06T14:00Z"));
                loop.Expect(new SlotOffered("e1", null), A.T("2026-06-06T14:00Z"));
                break;
            case "done": loop.Expect(new ProgramEnded("program completed"), A.T("2026-06-06T14:00Z")); break;
        }
        return loop.State;
    }

    [Theory]
    [MemberData(nameof(ClientLoopStates))]
    public void EveryClientLoopStateRoundTripsAndDecidesTheSameAfterLoading(string name)
    {
        var state = ClientLoopState(name);

        var loaded = RoundTrip(state, DomainJson.Default.ClientLoopState);

        // Same decisions from the loaded state as from the original, for a few messages.
        var later = A.T("2026-06-06T15:00Z");
        ClientLoopMessage[] probes =
        [
            A.Reply("2 stuck on pricing"), new ReminderDue("touch:1:day6"), new ReminderDue("silent:s1-day5"),
            new Resumed(), new Paused(null), A.Session(at: A.NextSessionAt, next: A.NextSessionAt.AddDays(7)),
        ];
        foreach (var probe in probes)
        {
            var expected = ClientLoopDecider.Decide(state, probe, later);
            var actual = ClientLoopDecider.Decide(loaded, probe, later);
            Assert.Equal(expected.Effects, actual.Effects);
            Assert.Equal(expected.Rejected, actual.Rejected);
            if (expected.State is not null)
                Assert.Equal(JsonSerializer.Serialize(expected.State, DomainJson.Default.ClientLoopState),
                    JsonSerializer.Serialize(actual.State, DomainJson.Default.ClientLoopState));
        }
    }

    [Fact]
    public void CoachAndCohortStatesRoundTrip()
    {
        var coach = RoundTrip(SampleStates.Coach(), DomainJson.Default.CoachState);
        Assert.Equal(2, coach.ReservedSlots.Count);
        Assert.Equal(DayOfWeek.Thursday, coach.Availability[1].Day);

        var cohort = RoundTrip(SampleStates.Cohort(), DomainJson.Default.CohortState);
        Assert.Equal(SampleStates.Cohort().Program.Cadence, cohort.Program.Cadence);

        var ended = CohortDecider.Decide(cohort, new EndCohort([]), A.T("2026-07-20T12:00Z")).State!;
        Assert.Equal(A.T("2026-07-20T12:00Z"), RoundTrip(ended, DomainJson.Default.CohortState).EndedAt);
    }

    public static TheoryData<ClientLoopMessage> ClientLoopMessages => new()
    {
        A.Enroll(A.Profile(quiet: new QuietHours(new TimeOnly(22, 0), new TimeOnly(7, 0)))),
        A.Session(),
        new ReminderDue("touch:1:day2"),
        A.Reply("4️⃣ good week", promptId: "s1-day5", channel: Channel.InApp),
        new CheckInReplied(2, null, null, Channel.Email),
        new ActionItemCompleted("s1-a1"),
        new Paused("holiday"),
        new Paused(null),
        new Resumed(),
        new ChannelOptedOut(Channel.Sms),
        new ChannelOptedIn(Channel.Email),
        new ProgramEnded("program completed"),
        new SlotOffered("e1", A.T("2026-06-02T15:00Z")),
        new SlotOffered("e1", null),
        new EscalationHandled("e1", A.T("2026-06-03T18:00Z")),
    };

    [Theory]
    [MemberData(nameof(ClientLoopMessages))]
    public void EveryClientLoopMessageRoundTripsWithItsType(ClientLoopMessage message)
    {
        var json = JsonSerializer.Serialize(message, DomainJson.Default.ClientLoopMessage);
        Assert.StartsWith("{\"$type\":", json);

        var back = JsonSerializer.Deserialize(json, DomainJson.Default.ClientLoopMessage)!;

        Assert.Equal(message.GetType(), back.GetType());
        Assert.Equal(json, JsonSerializer.Serialize(back, DomainJson.Default.ClientLoopMessage));
    }

    [Fact]
    public void CoachAndCohortMessagesRoundTripWithTheirType()
    {
        CoachMessage[] coach =
        [
            new CreateCoach("coach-1", "Sam", null, "America/Chicago", [new AvailabilityWindow(DayOfWeek.Friday, new TimeOnly(9, 0), new TimeOnly(9, 45))]),
            new SetAvailability([]),
            new ClientEscalated("e1", "client-1", "Dana", "cohort-1", EscalationReason.Silent, "no reply", A.SessionAt, A.NextSessionAt),
            new HandleAlert("a1", "called"),
            new CoachReminderDue("x"),
        ];
        foreach (var m in coach)
        {
            var json = JsonSerializer.Serialize(m, DomainJson.Default.CoachMessage);
            var back = JsonSerializer.Deserialize(json, DomainJson.Default.CoachMessage)!;
            Assert.Equal(m.GetType(), back.GetType());
            Assert.Equal(json, JsonSerializer.Serialize(back, DomainJson.Default.CoachMessage));
        }

        CohortMessage[] cohort =
        [
            new CreateCohort("cohort-1", "Spring", "coach-1", A.Program()),
            new UpdateProgram(A.Program(weeklyCap: 2)),
            new ActivateCohort(),
            new EndCohort(["client-1", "client-2"]),
            new CohortReminderDue("x"),
        ];
        foreach (var m in cohort)
        {
            var json = JsonSerializer.Serialize(m, DomainJson.Default.CohortMessage);
            var back = JsonSerializer.Deserialize(json, DomainJson.Default.CohortMessage)!;
            Assert.Equal(m.GetType(), back.GetType());
            Assert.Equal(json, JsonSerializer.Serialize(back, DomainJson.Default.CohortMessage));
        }
    }

    [Fact]
    public void ClientLoopStateSchemaVersion1StillLoads()
    {
        var s = Load("clientLoop.json", DomainJson.Default.ClientLoopState);

        Assert.Equal(1, s.SchemaVersion);
        Assert.Equal(("client-1", "cohort-1", "coach-1", "Sam Rivera"), (s.ClientId, s.CohortId, s.CoachId, s.CoachName));
        Assert.Equal(new ClientProfile("Dana Whitfield", "+12125550100", "dana@example.com", "America/New_York", 9,
            new QuietHours(new TimeOnly(22, 0), new TimeOnly(7, 30))), s.Profile);
        Assert.Equal(new Consent(SmsOptIn: true, SmsOptedOut: true), s.Consent);

        Assert.Equal(8, s.Program.Weeks);
        Assert.Equal(new SessionSchedule(DayOfWeek.Monday, new TimeOnly(14, 0), "America/New_York"), s.Program.Schedule);
        Assert.Equal(ProgramDefinition.DefaultCadence, s.Program.Cadence);
        Assert.Equal(2, s.Program.WeeklyCap);
        Assert.Equal(QuietHours.Default, s.Program.QuietHours);
        Assert.Equal(24, s.Program.SilentAfterHours);

        Assert.Equal(ClientStatus.Paused, s.Status);
        Assert.Equal(ClientStatus.OnTrack, s.StatusBeforePause);
        Assert.Equal(A.T("2026-06-07T14:00Z"), s.StatusSince);
        Assert.Equal("paused", s.StatusDetail);
        Assert.Equal(A.T("2026-05-25T18:00Z"), s.EnrolledAt);

        var session = Assert.Single(s.Sessions);
        Assert.Equal((1, A.T("2026-06-01T18:00Z"), A.T("2026-06-08T18:00Z")), (session.Number, session.OccurredAt, session.NextSessionAt));
        Assert.Equal(new ActionItem("s1-a1", "Make two prospecting calls", new DateOnly(2026, 6, 5), "How the prospect reacts to the price",
            A.T("2026-06-04T20:00Z")), session.Items[0]);
        Assert.Equal(new ActionItem("s1-a2", "Draft the pricing page", null, null), session.Items[1]);
        Assert.Equal(new SessionNote("Pipeline", "Avoids the phone", "Two calls", "Time", "How the calls went"), session.Note);

        Assert.Equal(["s1-day2", "offer-e1", "s1-day5", "s1-day6"], s.Touches.Select(t => t.Id));
        Assert.Equal(new TouchRecord("s1-day6", 1, "day6", Channel.Email, A.T("2026-06-07T13:00Z"), "", false, true,
            "weekly cap of 2 touches reached"), s.Touches[3]);
        Assert.False(s.Touches[1].CountsTowardCap);
        Assert.Equal(Channel.Email, s.Touches[2].Channel);

        Assert.Equal(new ReplyRecord("r1", "s1-day2", 2, "2 stuck on pricing", Channel.Sms, A.T("2026-06-03T15:00Z"), ReplyRoute.Stuck), s.Replies[0]);
        Assert.Equal(new ReplyRecord("r2", "s1-day5", 4, null, Channel.Email, A.T("2026-06-06T14:00Z"), ReplyRoute.OnTrack), s.Replies[1]);

        Assert.Equal(new Escalation("e1", 1, EscalationReason.Stuck, "rated 2 on Wed: 'stuck on pricing'", A.T("2026-06-03T15:00Z"),
            A.T("2026-06-08T18:00Z"), A.T("2026-06-04T15:00Z"), A.T("2026-06-03T18:00Z")), Assert.Single(s.Escalations));
        Assert.Equal("s1-day5", s.OpenPromptId);
        Assert.Empty(s.Reminders);

        // Derived values come from the stored ones, not from the copies an older writer put beside them.
        Assert.Equal(4, s.LastRating);
        Assert.Same(s.Sessions[0], s.CurrentSession);
        Assert.Equal(s.Profile.QuietHours, s.QuietHours);
    }

    [Fact]
    public void ALoadedVersion1ClientLoopCarriesOn()
    {
        var s = Load("clientLoop.json", DomainJson.Default.ClientLoopState);

        var resumed = ClientLoopDecider.Decide(s, new Resumed(), A.T("2026-06-07T15:00Z"));
        Assert.Equal(ClientStatus.OnTrack, resumed.State!.Status);
        Assert.Empty(resumed.Effects); // day 5 answered, day 6 skipped, the offer sent: nothing left

        var next = ClientLoopDecider.Decide(resumed.State, A.Session(at: A.NextSessionAt, next: A.NextSessionAt.AddDays(7), program: s.Program),
            A.NextSessionAt.AddHours(1));
        Assert.Equal(["touch:2:day2", "touch:2:day5", "touch:2:day6"], next.State!.Reminders);
        Assert.Equal(Rejection.NotFound, ClientLoopDecider.Decide(s, new ActionItemCompleted("s9-a1"), A.SessionAt).Rejected?.Code);
        Assert.Equal(Rejection.NotFound, ClientLoopDecider.Decide(s, A.Reply("4", promptId: "s1-day6"), A.SessionAt).Rejected?.Code);
    }

    [Fact]
    public void CoachStateSchemaVersion1StillLoads()
    {
        var s = Load("coach.json", DomainJson.Default.CoachState);

        Assert.Equal(1, s.SchemaVersion);
        Assert.Equal(("coach-1", "Sam Rivera", "sam@example.com", "America/Chicago"), (s.CoachId, s.Name, s.Email, s.TimeZone));
        Assert.Equal([new AvailabilityWindow(DayOfWeek.Tuesday, new TimeOnly(10, 0), new TimeOnly(11, 0)),
                      new AvailabilityWindow(DayOfWeek.Thursday, new TimeOnly(16, 0), new TimeOnly(17, 30))], s.Availability);
        Assert.Equal(new CoachAlert("a1", "client-1", "Dana Whitfield", "cohort-1", "e1", EscalationReason.Stuck, "rated 2 on Mon: 'stuck on pricing'",
            A.T("2026-06-01T14:00Z"), A.T("2026-06-08T18:00Z"), A.T("2026-06-02T15:00Z"), A.T("2026-06-01T16:00Z"), "Left a voice note"), s.Alerts[0]);
        Assert.Equal(new CoachAlert("a2", "client-2", "Lee Park", "cohort-1", "e1", EscalationReason.Silent, "no reply to the check-in sent Sat",
            A.T("2026-06-01T15:00Z"), A.T("2026-06-08T18:00Z"), A.T("2026-06-02T15:15Z")), s.Alerts[1]);
        Assert.Equal([A.T("2026-06-02T15:00Z"), A.T("2026-06-02T15:15Z")], s.ReservedSlots);
        Assert.Equal(1, s.OpenAlerts);

        // It carries on: the next escalation gets the next slot, not a reserved one.
        var d = CoachDecider.Decide(s, new ClientEscalated("e1", "client-3", "Kim", "cohort-1", EscalationReason.Stuck, "x", A.T("2026-06-01T16:00Z"), A.NextSessionAt),
            A.T("2026-06-01T16:00Z"));
        Assert.Equal(A.T("2026-06-02T15:30Z"), ((OfferSlot)d.Effects.Single()).Offer.SlotStart);
    }

    [Fact]
    public void CohortStateSchemaVersion1StillLoads()
    {
        var s = Load("cohort.json", DomainJson.Default.CohortState);

        Assert.Equal(1, s.SchemaVersion);
        Assert.Equal(("cohort-1", "Spring leaders", "coach-1"), (s.CohortId, s.Name, s.CoachId));
        Assert.Equal(CohortLifecycle.Active, s.Lifecycle);
        Assert.Equal(A.T("2026-05-20T12:00Z"), s.CreatedAt);
        Assert.Equal(A.T("2026-05-21T12:00Z"), s.ActivatedAt);
        Assert.Null(s.EndedAt);
        Assert.Equal(3, s.Program.WeeklyCap);
        Assert.Equal(new Touchpoint("day2", 2, Channel.Sms, TouchKind.Nudge, "Hi {firstName}, one step on {firstCommitment} today?"), s.Program.Cadence[0]);
        Assert.Equal(ProgramDefinition.DefaultCadence.Skip(1), s.Program.Cadence.Skip(1));
        Assert.Empty(s.Program.Validate());
    }

    [Fact]
    public void EveryStoredSampleIsSchemaVersion1AndEveryStateHasOne()
    {
        var files = Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Samples", "v1"), "*.json").Select(Path.GetFileName).Order().ToList();

        Assert.Equal(["clientLoop.json", "coach.json", "cohort.json"], files);
        foreach (var f in files)
            Assert.Equal(1, JsonNode.Parse(File.ReadAllText(SamplePath(f!)))!["schemaVersion"]!.GetValue<int>());
        // Version 2 (the program arc) has its own frozen samples: see SchemaV2Tests.
        Assert.Equal(2, ClientLoops.ClientLoopState.CurrentSchemaVersion);
        Assert.Equal(2, CoachState.CurrentSchemaVersion);
        Assert.Equal(2, CohortState.CurrentSchemaVersion);
    }

    [Fact]
    public void EnumsAreStoredByName()
    {
        var json = JsonSerializer.Serialize(ClientLoopState("stuck"), DomainJson.Default.ClientLoopState);

        Assert.Contains("\"status\":\"Stuck\"", json);
        Assert.Contains("\"route\":\"Stuck\"", json);
        Assert.Contains("\"kind\":\"ProgressCheck\"", json);
        Assert.Contains("\"channel\":\"Sms\"", json);
    }
}
