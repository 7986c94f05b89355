using System.Collections.Immutable;
using System.Text.Json.Nodes;
using CohortGrains.Domain.Coaches;
using CohortGrains.Domain.Common;
using CohortGrains.Domain.Integrations;
using CohortGrains.Domain.Programs;

namespace CohortGrains.Domain.Tests;

/// <summary>One digest per coach before each session day, at the hour the coach chose.</summary>
public class CoachDigestTests
{
    private static readonly DateTimeOffset Now = A.T("2026-06-01T12:00Z"); // Mon 08:00 New York

    private static readonly SessionSchedule TuesdayTen = new(DayOfWeek.Tuesday, new TimeOnly(10, 0), A.NewYork);

    private static CoachState Coach(string? email = "sam@example.com") =>
        CoachDecider.Decide(null, new CreateCoach("coach-1", "Sam Rivera", email, A.NewYork, []), Now).State!;

    private static Decision<CoachState> WithDigest(int hour, params CoachCohort[] cohorts) =>
        CoachDecider.Decide(Coach(), new SetDigest(new DigestSettings(hour, true), [.. cohorts]), Now);

    [Fact]
    public void TheDigestGoesOutAtTheChosenHourOnTheSessionDay()
    {
        var d = WithDigest(7, new CoachCohort("cohort-1", "Spring", TuesdayTen));

        Assert.Equal([new ScheduleReminder("digest", A.Local(A.NewYork, 2026, 6, 2, 7))], d.Effects);
        Assert.Equal(new DateOnly(2026, 6, 2), d.State!.NextDigestFor);
    }

    [Fact]
    public void AnHourAfterTheFirstSessionMeansTheEveningBefore()
    {
        var d = WithDigest(18, new CoachCohort("cohort-1", "Spring", TuesdayTen));

        Assert.Equal([new ScheduleReminder("digest", A.Local(A.NewYork, 2026, 6, 1, 18))], d.Effects);
    }

    [Fact]
    public void CohortsMeetingTheSameDayShareOneDigestAndEachSessionDayGetsOne()
    {
        var afternoon = new SessionSchedule(DayOfWeek.Tuesday, new TimeOnly(15, 0), "Europe/London");
        var thursday = new SessionSchedule(DayOfWeek.Thursday, new TimeOnly(9, 0), A.NewYork);
        var coach = WithDigest(7, new("a", "A", TuesdayTen), new("b", "B", afternoon), new("c", "C", thursday)).State!;

        var fired = new List<(DateTimeOffset At, DateOnly Day)>();
        for (var i = 0; i < 4; i++)
        {
            var at = coach.NextDigestAt!.Value;
            var d = CoachDecider.Decide(coach, new CoachReminderDue("digest"), at);
            fired.Add((at, Assert.IsType<RequestCoachDigest>(d.Effects[0]).SessionDate));
            coach = d.State!;
        }

        Assert.Equal(
        [
            (A.Local(A.NewYork, 2026, 6, 2, 7), new DateOnly(2026, 6, 2)),
            (A.Local(A.NewYork, 2026, 6, 4, 7), new DateOnly(2026, 6, 4)),
            (A.Local(A.NewYork, 2026, 6, 9, 7), new DateOnly(2026, 6, 9)),
            (A.Local(A.NewYork, 2026, 6, 11, 7), new DateOnly(2026, 6, 11)),
        ], fired);
    }

    [Fact]
    public void AnAnchoredBiweeklyCohortGetsADigestOnlyInItsWeeks()
    {
        var biweekly = TuesdayTen with { IntervalWeeks = 2, FirstSessionDate = new DateOnly(2026, 6, 9) };
        var coach = WithDigest(7, new CoachCohort("cohort-1", "Spring", biweekly)).State!;

        Assert.Equal(new DateOnly(2026, 6, 9), coach.NextDigestFor);
        var after = CoachDecider.Decide(coach, new CoachReminderDue("digest"), coach.NextDigestAt!.Value).State!;
        Assert.Equal(new DateOnly(2026, 6, 23), after.NextDigestFor);
    }

    [Fact]
    public void TurningTheDigestOffOrEndingTheLastCohortCancelsIt()
    {
        var coach = WithDigest(7, new CoachCohort("cohort-1", "Spring", TuesdayTen)).State!;

        var off = CoachDecider.Decide(coach, new SetDigest(new DigestSettings(7, false), null), Now);
        var ended = CoachDecider.Decide(coach, new CohortScheduled("cohort-1", "Spring", TuesdayTen, false), Now);

        Assert.Equal([new CancelReminder("digest")], off.Effects);
        Assert.Null(off.State!.NextDigestAt);
        Assert.Equal([new CancelReminder("digest")], ended.Effects);
        Assert.Empty(ended.State!.Cohorts);
    }

    [Fact]
    public void ACohortActivatedLaterIsPlannedForToo()
    {
        var coach = WithDigest(7).State!;
        Assert.Null(coach.NextDigestAt);

        var d = CoachDecider.Decide(coach, new CohortScheduled("cohort-1", "Spring", TuesdayTen, true), Now);

        Assert.Equal([new ScheduleReminder("digest", A.Local(A.NewYork, 2026, 6, 2, 7))], d.Effects);
    }

    [Fact]
    public void TheComposedDigestIsOneEmailPerSessionDay()
    {
        var coach = WithDigest(7, new CoachCohort("cohort-1", "Spring", TuesdayTen)).State!;

        var d = CoachDecider.Decide(coach, new DigestComposed(new DateOnly(2026, 6, 2), "Before Tue 2 Jun", "2 clients need you"), Now);

        var touch = Assert.IsType<SendTouch>(Assert.Single(d.Effects)).Touch;
        Assert.Equal(new Touch("digest-20260602", Channel.Email, "sam@example.com", "Before Tue 2 Jun", "2 clients need you", "coach-digest", null), touch);
    }

    [Fact]
    public void ADigestNeedsAnEmailAndAnHourOfTheDay()
    {
        Assert.Equal(Rejection.Invalid, CoachDecider.Decide(Coach(email: null), new SetDigest(new DigestSettings(7, true), null), Now).Rejected?.Code);
        Assert.Equal(Rejection.Invalid, CoachDecider.Decide(Coach(), new SetDigest(new DigestSettings(24, true), null), Now).Rejected?.Code);
    }

    [Fact]
    public void NormsAreKeptOnTheCoach()
    {
        var norms = ProgramArcTests.Norms;

        var d = CoachDecider.Decide(Coach(), new SetNorms(norms), Now);

        Assert.Same(norms, d.State!.Norms);
        Assert.Null(CoachDecider.Decide(d.State, new SetNorms(null), Now).State!.Norms);
    }
}

/// <summary>The org's integrations grain: endpoints, and one delivery per subscribed endpoint.</summary>
public class IntegrationsTests
{
    private static readonly DateTimeOffset Now = A.T("2026-06-01T12:00Z");

    private static WebhookEndpoint Endpoint(string id, params string[] events) =>
        new(id, $"https://crm.example.com/{id}", [.. events], "whsec_x", Now);

    private static ClientEvent Stuck => new("client-1.client.stuck.e1", WebhookEvents.ClientStuck, Now,
        new ClientEventData("client-1", "Dana", "cohort-1", "coach-1") { Status = "stuck", EscalationId = "e1" });

    [Fact]
    public void AnEventIsDeliveredToEachEndpointSubscribedToItAndNoOther()
    {
        var s = IntegrationsDecider.Decide(null, new AddWebhookEndpoint(Endpoint("we_1", WebhookEvents.ClientStuck, WebhookEvents.ClientSilent)), Now).State;
        s = IntegrationsDecider.Decide(s, new AddWebhookEndpoint(Endpoint("we_2", WebhookEvents.CheckinReplied)), Now).State;
        s = IntegrationsDecider.Decide(s, new AddWebhookEndpoint(Endpoint("we_3", WebhookEvents.ClientStuck)), Now).State;

        var d = IntegrationsDecider.Decide(s, new EventOccurred(Stuck), Now);

        var deliveries = d.Effects.Cast<DeliverWebhook>().ToList();
        Assert.Equal(["we_1", "we_3"], deliveries.Select(w => w.EndpointId));
        var payload = JsonNode.Parse(deliveries[0].PayloadJson)!;
        Assert.Equal("client-1.client.stuck.e1", payload["id"]!.GetValue<string>());
        Assert.Equal("client.stuck", payload["type"]!.GetValue<string>());
        Assert.Equal("stuck", payload["data"]!["status"]!.GetValue<string>());
        Assert.Null(payload["data"]!["rating"]);
    }

    [Fact]
    public void WithoutEndpointsAnEventChangesNothing()
    {
        var d = IntegrationsDecider.Decide(null, new EventOccurred(Stuck), Now);

        Assert.Empty(d.Effects);
        Assert.Empty(d.State!.Endpoints);
    }

    [Fact]
    public void EndpointsAreLimitedValidatedAndRemovable()
    {
        IntegrationsState? s = null;
        for (var i = 0; i < IntegrationsState.MaxEndpoints; i++)
            s = IntegrationsDecider.Decide(s, new AddWebhookEndpoint(Endpoint($"we_{i}", WebhookEvents.ClientStuck)), Now).State;

        Assert.Equal(Rejection.Conflict, IntegrationsDecider.Decide(s, new AddWebhookEndpoint(Endpoint("we_x", WebhookEvents.ClientStuck)), Now).Rejected?.Code);
        Assert.Equal(Rejection.Invalid, IntegrationsDecider.Decide(null, new AddWebhookEndpoint(Endpoint("we_x", "client.sneezed")), Now).Rejected?.Code);
        Assert.Equal(Rejection.Invalid, IntegrationsDecider.Decide(null, new AddWebhookEndpoint(Endpoint("we_x")), Now).Rejected?.Code);
        var removed = IntegrationsDecider.Decide(s, new RemoveWebhookEndpoint("we_0"), Now).State!;
        Assert.DoesNotContain(removed.Endpoints, e => e.Id == "we_0");
        Assert.Equal(Rejection.NotFound, IntegrationsDecider.Decide(removed, new RemoveWebhookEndpoint("we_0"), Now).Rejected?.Code);
    }

    [Fact]
    public void TheInboundSecretIsKeptAndRotated()
    {
        var s = IntegrationsDecider.Decide(null, new SetInboundSecret("one"), Now).State;
        s = IntegrationsDecider.Decide(s, new SetInboundSecret("two"), Now).State;

        Assert.Equal("two", s!.InboundSecret);
    }
}
