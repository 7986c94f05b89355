using System.Collections.Immutable;
using System.Text.Json;
using CohortGrains.Domain.ClientLoops;
using CohortGrains.Domain.Coaches;
using CohortGrains.Domain.Common;

namespace CohortGrains.Domain.Tests;

public class CoachTests
{
    private const string Chicago = "America/Chicago";
    // Mon 2026-06-01 09:00 CDT (UTC-5).
    private static readonly DateTimeOffset Monday0900 = A.T("2026-06-01T14:00Z");

    private static readonly ImmutableList<AvailabilityWindow> TuesdayMorning =
        [new AvailabilityWindow(DayOfWeek.Tuesday, new TimeOnly(10, 0), new TimeOnly(11, 0))];

    private static CoachState Coach(ImmutableList<AvailabilityWindow>? availability = null) =>
        CoachDecider.Decide(null, new CreateCoach("coach-1", " Sam Rivera ", "sam@example.com", Chicago, availability ?? TuesdayMorning), Monday0900).State!;

    private static ClientEscalated Escalated(string clientId = "client-1", string escalationId = "e1") =>
        new(escalationId, clientId, "Dana Whitfield", "cohort-1", EscalationReason.Stuck, "rated 2 on Mon: 'no time for calls'", Monday0900, A.NextSessionAt);

    [Fact]
    public void ClientEscalatedAddsAnAlertAndOffersTheNextFreeSlot()
    {
        var d = CoachDecider.Decide(Coach(), Escalated(), Monday0900);

        var alert = Assert.Single(d.State!.Alerts);
        Assert.Equal("client-1", alert.ClientId);
        Assert.Equal("e1", alert.EscalationId);
        Assert.Equal("rated 2 on Mon: 'no time for calls'", alert.Detail);
        Assert.Equal(1, d.State.OpenAlerts);
        var offer = Assert.IsType<OfferSlot>(Assert.Single(d.Effects));
        Assert.Equal("client-1", offer.ClientId);
        Assert.Equal(new SlotOffered("e1", A.T("2026-06-02T15:00Z")), offer.Offer); // Tue 10:00 CDT
        Assert.Equal(A.T("2026-06-02T15:00Z"), alert.OfferedSlot);
    }

    [Fact]
    public void NeverTheSameSlotTwice()
    {
        var coach = Coach();
        var slots = new List<DateTimeOffset?>();
        for (var i = 1; i <= 5; i++)
        {
            var d = CoachDecider.Decide(coach, Escalated($"client-{i}", "e1"), Monday0900);
            coach = d.State!;
            slots.Add(((OfferSlot)d.Effects.Single()).Offer.SlotStart);
        }

        // Four 15-minute slots in Tue 10:00–11:00 CDT, then the next Tuesday.
        Assert.Equal(
            [A.T("2026-06-02T15:00Z"), A.T("2026-06-02T15:15Z"), A.T("2026-06-02T15:30Z"), A.T("2026-06-02T15:45Z"), A.T("2026-06-09T15:00Z")],
            slots);
    }

    [Fact]
    public void SlotsNeedTwoHoursLead()
    {
        // Tue 08:00 CDT: 10:00 is exactly two hours ahead. At 08:40 the first start allowed is 10:40 → 10:45.
        Assert.Equal(A.T("2026-06-02T15:00Z"), CoachDecider.NextFreeSlot(Coach(), A.T("2026-06-02T13:00Z")));
        Assert.Equal(A.T("2026-06-02T15:45Z"), CoachDecider.NextFreeSlot(Coach(), A.T("2026-06-02T13:40Z")));
        // Tue 09:01 CDT: nothing left today → next Tuesday.
        Assert.Equal(A.T("2026-06-09T15:00Z"), CoachDecider.NextFreeSlot(Coach(), A.T("2026-06-02T14:01Z")));
    }

    [Fact]
    public void SlotsAreInTheCoachsZone()
    {
        var coach = Coach() with { TimeZone = A.Berlin };

        Assert.Equal(A.T("2026-06-02T08:00Z"), CoachDecider.NextFreeSlot(coach, Monday0900)); // Tue 10:00 CEST
    }

    [Fact]
    public void NoAvailabilityMeansNoSlot()
    {
        var d = CoachDecider.Decide(Coach([]), Escalated(), Monday0900);

        Assert.Equal(new OfferSlot("client-1", new SlotOffered("e1", null)), Assert.Single(d.Effects));
        Assert.Empty(d.State!.ReservedSlots);
        Assert.Single(d.State.Alerts);
    }

    [Fact]
    public void AvailabilityCanChange()
    {
        var coach = CoachDecider.Decide(Coach([]), new SetAvailability(TuesdayMorning), Monday0900).State!;

        Assert.Equal(A.T("2026-06-02T15:00Z"), CoachDecider.NextFreeSlot(coach, Monday0900));
    }

    [Fact]
    public void ADuplicateClientEscalatedIsIgnored()
    {
        var coach = CoachDecider.Decide(Coach(), Escalated(), Monday0900).State!;

        var again = CoachDecider.Decide(coach, Escalated(), Monday0900.AddMinutes(1));

        Assert.Empty(again.Effects);
        Assert.Single(again.State!.Alerts);
        Assert.Single(again.State.ReservedSlots);
    }

    [Fact]
    public void HandledAlertsLeaveTheListAfterNinetyDaysOpenOnesStayAndNoIdIsUsedTwice()
    {
        var coach = Coach();
        foreach (var client in new[] { "client-1", "client-2", "client-3" })
            coach = CoachDecider.Decide(coach, Escalated(client), Monday0900).State!;
        coach = CoachDecider.Decide(coach, new HandleAlert("a1", null), Monday0900.AddHours(1)).State!;
        coach = CoachDecider.Decide(coach, new HandleAlert("a2", null), Monday0900.AddDays(5)).State!;

        // The count of alerts raised is stored with the state (a grain is read back from JSON on every turn).
        coach = Stored(coach);

        // 90 days and 2 hours after a1 was handled: a1 goes, a2 (handled 85 days ago) and the open a3 stay.
        var later = Monday0900.AddDays(90).AddHours(3);
        coach = CoachDecider.Decide(coach, Escalated("client-4"), later).State!;
        Assert.Equal(["a2", "a3", "a4"], coach.Alerts.Select(a => a.Id));
        coach = CoachDecider.Decide(Stored(coach), Escalated("client-5"), later.AddDays(10)).State!;
        Assert.Equal(["a3", "a4", "a5"], coach.Alerts.Select(a => a.Id));
        Assert.Equal(3, coach.OpenAlerts);
        Assert.Equal(5, coach.AlertsRaised);
        // A dropped alert is gone for good; a redelivered escalation of a kept one is still recognised.
        Assert.Equal(Rejection.NotFound, CoachDecider.Decide(coach, new HandleAlert("a1", null), later).Rejected!.Code);
        Assert.Empty(CoachDecider.Decide(coach, Escalated("client-3"), later).Effects);
    }

    private static CoachState Stored(CoachState s) =>
        JsonSerializer.Deserialize(JsonSerializer.Serialize(s, DomainJson.Default.CoachState), DomainJson.Default.CoachState)!;

    [Fact]
    public void HandleAlertTellsTheClientOnce()
    {
        var coach = CoachDecider.Decide(Coach(), Escalated(), Monday0900).State!;
        var handledAt = Monday0900.AddHours(3);

        var d = CoachDecider.Decide(coach, new HandleAlert("a1", "Left a voice note"), handledAt);

        Assert.Equal([new TellClient("client-1", new EscalationHandled("e1", handledAt))], d.Effects);
        Assert.Equal("Left a voice note", d.State!.Alerts.Single().HandledNote);
        Assert.Equal(0, d.State.OpenAlerts);
        var twice = CoachDecider.Decide(d.State, new HandleAlert("a1", null), handledAt.AddHours(1));
        Assert.Empty(twice.Effects);
        Assert.Equal(handledAt, twice.State!.Alerts.Single().HandledAt);
    }

    [Fact]
    public void HandlingAnUnknownAlertIsRejected()
    {
        Assert.Equal(Rejection.NotFound, CoachDecider.Decide(Coach(), new HandleAlert("a9", null), Monday0900).Rejected?.Code);
    }

    [Fact]
    public void CreateCoachOnceAndNothingBefore()
    {
        var coach = Coach();
        Assert.Equal("Sam Rivera", coach.Name);
        Assert.Equal(Rejection.Conflict, CoachDecider.Decide(coach, new CreateCoach("coach-1", "x", null, Chicago, []), Monday0900).Rejected?.Code);
        Assert.Equal(Rejection.NotFound, CoachDecider.Decide(null, Escalated(), Monday0900).Rejected?.Code);
    }

    [Fact]
    public void ACoachNeedsAnIanaTimeZone()
    {
        var d = CoachDecider.Decide(null, new CreateCoach("coach-1", "Sam", null, "Mars/Olympus_Mons", TuesdayMorning), Monday0900);

        Assert.Equal(Rejection.Invalid, d.Rejected?.Code);
    }

    [Fact]
    public void TheLoopAndTheCoachTogetherOfferTheSlotToTheClient()
    {
        // Client replies "2" → AlertCoach → coach reserves a slot → OfferSlot → the client gets the offer.
        var loop = LoopScenario.AfterSession();
        loop.RunUntil(A.T("2026-06-06T13:00Z"));
        var alert = Assert.Single(loop.Expect(A.Reply("2 no time for calls"), A.T("2026-06-06T14:00Z")).Effects.OfType<AlertCoach>());

        var coach = CoachDecider.Decide(Coach(), alert.Alert, A.T("2026-06-06T14:00Z"));
        var offer = Assert.IsType<OfferSlot>(Assert.Single(coach.Effects));
        Assert.Equal(alert.Alert.ClientId, offer.ClientId);
        var sent = loop.Expect(offer.Offer, A.T("2026-06-06T14:00Z"));

        // Tue 06-09 10:00 CDT is 11:00 in the client's New York.
        Assert.Contains("Tue 11:00", Assert.Single(sent.Effects.OfType<SendTouch>()).Touch.Body);

        var handled = CoachDecider.Decide(coach.State, new HandleAlert("a1", null), A.T("2026-06-07T14:00Z"));
        loop.Expect(((TellClient)handled.Effects.Single()).Message, A.T("2026-06-07T14:00Z"));
        Assert.True(loop.State.Escalations.Single().Caught);
    }
}
