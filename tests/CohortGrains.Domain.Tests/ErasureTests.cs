using System.Text.Json;
using CohortGrains.Domain.ClientLoops;
using CohortGrains.Domain.Coaches;
using CohortGrains.Domain.Common;

namespace CohortGrains.Domain.Tests;

public class ErasureTests
{
    private static readonly DateTimeOffset Day5Sent = A.T("2026-06-06T13:00Z");

    /// <summary>A client with everything personal a loop can hold: profile, items, notes, touches, a reply with text, an escalation.</summary>
    private static LoopScenario Lived()
    {
        var loop = LoopScenario.AfterSession();
        loop.RunUntil(Day5Sent);
        loop.Expect(A.Reply("2 stuck on pricing, call Dana's boss"), Day5Sent.AddHours(1));
        return loop;
    }

    [Fact]
    public void TheTombstoneKeepsNothingThatSaysWhoTheClientIsOrWhatWasSaid()
    {
        var loop = Lived();
        Assert.NotEmpty(loop.State.Touches);
        Assert.NotEmpty(loop.State.Escalations);

        loop.Expect(new EraseClient(), Day5Sent.AddHours(2));

        var json = JsonSerializer.Serialize(loop.State, DomainJson.Default.ClientLoopState);
        foreach (var personal in new[] { "Dana", "Whitfield", "+12125550100", "dana@example.com", "prospecting", "pricing",
                     "Avoids the phone", "How the calls went" })
            Assert.DoesNotContain(personal, json, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(Day5Sent.AddHours(2), loop.State.ErasedAt);
        Assert.Equal((ClientStatus.Done, "erased"), (loop.State.Status, loop.State.StatusDetail));
    }

    [Fact]
    public void TheTombstoneKeepsTheCountsTheCohortMetricsAreMadeOf()
    {
        var loop = Lived();
        var before = loop.State;

        loop.Expect(new EraseClient(), Day5Sent.AddHours(2));

        var after = loop.State;
        Assert.Equal(before.Touches.Select(t => (t.Id, t.At, t.IsPrompt, t.SkippedBecause)), after.Touches.Select(t => (t.Id, t.At, t.IsPrompt, t.SkippedBecause)));
        Assert.Equal(before.Replies.Select(r => (r.PromptId, r.Rating, r.Route)), after.Replies.Select(r => (r.PromptId, r.Rating, r.Route)));
        Assert.Equal(before.AllActions.Select(a => (a.Id, a.CompletedAt)), after.AllActions.Select(a => (a.Id, a.CompletedAt)));
        Assert.Equal(before.Escalations.Select(e => (e.Id, e.At, e.Caught)), after.Escalations.Select(e => (e.Id, e.At, e.Caught)));
        Assert.Equal(before.LastRating, after.LastRating);
    }

    [Fact]
    public void ErasingCancelsEveryReminder()
    {
        var loop = LoopScenario.AfterSession();
        Assert.NotEmpty(loop.Timers);

        var d = loop.Expect(new EraseClient(), A.SessionAt.AddHours(2));

        Assert.Empty(loop.Timers);
        Assert.Empty(loop.State.Reminders);
        Assert.All(d.Effects, e => Assert.IsType<CancelReminder>(e));
    }

    [Fact]
    public void AnErasedClientRefusesEverythingAsNotFoundAndASecondErasureChangesNothing()
    {
        var loop = Lived();
        loop.Expect(new EraseClient(), Day5Sent.AddHours(2));
        var tombstone = loop.State;

        foreach (ClientLoopMessage m in new ClientLoopMessage[]
                 {
                     A.Reply("4"), A.Session(at: Day5Sent.AddDays(1), next: Day5Sent.AddDays(8)), new Resumed(), new ChannelOptedIn(Channel.Sms),
                     new ReminderDue("touch:1:day6"), new SlotOffered("e1", null), A.Enroll(),
                 })
        {
            var d = ClientLoopDecider.Decide(tombstone, m, Day5Sent.AddHours(3));
            Assert.Equal(new Rejection(Rejection.NotFound, ClientLoopDecider.NotEnrolled), d.Rejected);
        }
        var again = ClientLoopDecider.Decide(tombstone, new EraseClient(), Day5Sent.AddHours(3));
        Assert.Same(tombstone, again.State);
        Assert.Empty(again.Effects);
    }

    [Fact]
    public void TheCoachForgetsTheErasedClientsNameDetailAndNoteButKeepsTheAlertAndOthers()
    {
        var at = A.T("2026-06-01T14:00Z");
        var coach = CoachDecider.Decide(null, new CreateCoach("coach-1", "Sam Rivera", "sam@example.com", A.NewYork, []), at).State!;
        ClientEscalated Escalated(string client, string name) =>
            new("e1", client, name, "cohort-1", EscalationReason.Stuck, $"rated 2: '{name} is stuck'", at, A.NextSessionAt);
        coach = CoachDecider.Decide(coach, Escalated("client-1", "Dana Whitfield"), at).State!;
        coach = CoachDecider.Decide(coach, Escalated("client-2", "Eli Moss"), at).State!;
        coach = CoachDecider.Decide(coach, new HandleAlert("a1", "called Dana at home"), at.AddHours(1)).State!;

        var d = CoachDecider.Decide(coach, new ClientErased("client-1"), at.AddHours(2));

        var erased = d.State!.Alerts.Single(a => a.ClientId == "client-1");
        Assert.Equal((ClientErasure.ErasedText, ClientErasure.ErasedText, ClientErasure.ErasedText), (erased.ClientName, erased.Detail, erased.HandledNote));
        Assert.Equal((at, at.AddHours(1)), (erased.RaisedAt, erased.HandledAt!.Value));
        Assert.DoesNotContain("Dana", JsonSerializer.Serialize(d.State, DomainJson.Default.CoachState), StringComparison.Ordinal);
        Assert.Equal(("Eli Moss", "rated 2: 'Eli Moss is stuck'"), d.State.Alerts.Single(a => a.ClientId == "client-2") is var other ? (other.ClientName, other.Detail) : default);
    }

    [Fact]
    public void ATombstoneRoundTripsThroughJsonAndAStateWithoutErasedAtStillLoads()
    {
        var loop = Lived();
        loop.Expect(new EraseClient(), Day5Sent.AddHours(2));

        var json = JsonSerializer.Serialize(loop.State, DomainJson.Default.ClientLoopState);
        var back = JsonSerializer.Deserialize(json, DomainJson.Default.ClientLoopState)!;
        Assert.Equal(Day5Sent.AddHours(2), back.ErasedAt);
        Assert.Contains("\"erasedAt\"", json, StringComparison.Ordinal);

        var living = JsonSerializer.Serialize(Lived().State, DomainJson.Default.ClientLoopState);
        Assert.DoesNotContain("erasedAt", living, StringComparison.Ordinal);
        Assert.Null(JsonSerializer.Deserialize(living, DomainJson.Default.ClientLoopState)!.ErasedAt);
    }
}
