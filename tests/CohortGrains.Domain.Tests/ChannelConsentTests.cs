using System.Collections.Immutable;
using CohortGrains.Domain.ClientLoops;
using CohortGrains.Domain.Common;
using CohortGrains.Domain.Programs;

namespace CohortGrains.Domain.Tests;

/// <summary>What the real channels tell a loop: consent history, Twilio 21610 with its email fallback, replies delivered twice.</summary>
public sealed class ChannelConsentTests
{
    // Monday 1 June 2026, 14:00 New York: the session; Day 2 (Wednesday) 09:00 EDT = 13:00Z.
    private static readonly DateTimeOffset SessionAt = new(2026, 6, 1, 18, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Day2 = new(2026, 6, 3, 13, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Day5 = new(2026, 6, 6, 13, 0, 0, TimeSpan.Zero);

    private static ClientLoopState Loop(string? email = "dana@example.com", Consent? consent = null, bool throughDay5 = true)
    {
        var program = ProgramDefinition.Default(new SessionSchedule(DayOfWeek.Monday, new TimeOnly(14, 0), "America/New_York"));
        var profile = new ClientProfile("Dana Whitfield", "+12125550100", email, "America/New_York", 9);
        var s = Accept(null, new Enroll("client-1", "cohort-1", "coach-1", "Sam Rivera", profile, consent ?? new Consent(SmsOptIn: true), program), SessionAt.AddDays(-7));
        var note = new SessionNote("Pipeline", "Avoids the phone", "Two calls", "Time", "How the calls went");
        s = Accept(s, new SessionCompleted(SessionAt, SessionAt.AddDays(7), [new NewActionItem("Make two prospecting calls", null, null)], note, program), SessionAt.AddHours(1));
        s = Accept(s, new ReminderDue("touch:1:day2"), Day2);
        return throughDay5 ? Accept(s, new ReminderDue("touch:1:day5"), Day5) : s;
    }

    private static ClientLoopState Accept(ClientLoopState? s, ClientLoopMessage m, DateTimeOffset now)
    {
        var d = ClientLoopDecider.Decide(s, m, now);
        Assert.Null(d.Rejected);
        return d.State!;
    }

    private static SmsSenderBlocked Blocked(string touchId) =>
        new(touchId, "+15005550006", "21610", "SMS provider error 21610: the number unsubscribed from sender +15005550006");

    [Fact]
    public void A21610OptsTheClientOutOfSmsAndSendsTheSameCheckInByEmailUnderTheSamePrompt()
    {
        var s = Loop();
        var at = Day5.AddMinutes(1);

        var d = ClientLoopDecider.Decide(s, Blocked("s1-day5"), at);

        var next = d.State!;
        Assert.True(next.Consent.SmsOptedOut);
        Assert.Equal(new ConsentChange(Channel.Sms, false, at, Blocked("s1-day5").Reason, "+15005550006"), Assert.Single(next.Consent.Changes));
        var touch = Assert.IsType<SendTouch>(Assert.Single(d.Effects)).Touch;
        var day5 = s.Touches.Single(t => t.Id == "s1-day5");
        Assert.Equal(new Touch("s1-day5-email", Channel.Email, "dana@example.com", "How did this week go?", day5.Body, "day5", "s1-day5"), touch);
        Assert.Contains("make two prospecting calls", touch.Body);
        var record = next.Touches[^1];
        Assert.Equal(("s1-day5-email", false, false), (record.Id, record.IsPrompt, record.CountsTowardCap));
        // The open prompt is still the check-in the SMS asked: a one-tap answer in the email lands on it.
        Assert.Equal("s1-day5", next.OpenPromptId);
        var replied = ClientLoopDecider.Decide(next, new CheckInReplied(4, null, "s1-day5", Channel.Email), at.AddHours(1));
        Assert.Equal("s1-day5", replied.State!.Replies[^1].PromptId);
    }

    [Fact]
    public void ARedelivered21610ChangesNothingMore()
    {
        var once = ClientLoopDecider.Decide(Loop(), Blocked("s1-day5"), Day5.AddMinutes(1)).State!;

        var twice = ClientLoopDecider.Decide(once, Blocked("s1-day5"), Day5.AddMinutes(5));

        Assert.Empty(twice.Effects);
        Assert.Equal(once.Touches, twice.State!.Touches);
        Assert.Single(twice.State.Consent.Changes);
    }

    [Fact]
    public void WithoutAnEmailThe21610FallbackGoesToThePortal()
    {
        var d = ClientLoopDecider.Decide(Loop(email: null), Blocked("s1-day2"), Day2.AddMinutes(1));

        var touch = Assert.IsType<SendTouch>(Assert.Single(d.Effects)).Touch;
        Assert.Equal(("s1-day2-inapp", Channel.InApp, "client-1", (string?)null), (touch.Id, touch.Channel, touch.Recipient, touch.Subject));
    }

    [Fact]
    public void LaterTouchesAfterA21610GoByEmail()
    {
        var s = ClientLoopDecider.Decide(Loop(throughDay5: false), Blocked("s1-day2"), Day2.AddMinutes(1)).State!;

        var d = ClientLoopDecider.Decide(s, new ReminderDue("touch:1:day5"), Day5);

        var touch = Assert.IsType<SendTouch>(d.Effects.First(e => e is SendTouch)).Touch;
        Assert.Equal(("s1-day5", Channel.Email, "dana@example.com"), (touch.Id, touch.Channel, touch.Recipient));
    }

    [Fact]
    public void ConsentHistoryKeepsOnlyRealChangesWithHowAndWhen()
    {
        var s = Loop();
        var t1 = Day2.AddHours(2);

        s = Accept(s, new ChannelOptedOut(Channel.Sms, "SMS keyword STOP", "+15005550006"), t1);
        s = Accept(s, new ChannelOptedOut(Channel.Sms, "SMS keyword STOP", "+15005550006"), t1.AddMinutes(1));
        s = Accept(s, new ChannelOptedIn(Channel.Sms, "SMS keyword START", "+15005550006"), t1.AddHours(1));
        s = Accept(s, new ChannelOptedOut(Channel.Email, "email unsubscribe link"), t1.AddHours(2));

        Assert.Equal(
        [
            new ConsentChange(Channel.Sms, false, t1, "SMS keyword STOP", "+15005550006"),
            new ConsentChange(Channel.Sms, true, t1.AddHours(1), "SMS keyword START", "+15005550006"),
            new ConsentChange(Channel.Email, false, t1.AddHours(2), "email unsubscribe link"),
        ], s.Consent.Changes);
        Assert.Equal(new Consent(SmsOptIn: true, SmsOptedOut: false, EmailUnsubscribed: true) { Changes = s.Consent.Changes }, s.Consent);
        Assert.Equal(Rejection.Invalid, ClientLoopDecider.Decide(s, new ChannelOptedOut(Channel.InApp), t1).Rejected?.Code);
    }

    [Fact]
    public void AReplyDeliveredTwiceWithTheSameProviderIdIsRecordedOnce()
    {
        var s = Loop();
        var reply = new CheckInReplied(null, "2 stuck on pricing", null, Channel.Sms, "SM0001");

        var first = ClientLoopDecider.Decide(s, reply, Day5.AddHours(1));
        var second = ClientLoopDecider.Decide(first.State!, reply, Day5.AddHours(2));

        var recorded = first.State!.Replies[^1];
        Assert.Equal(("s1-day5", 2, "SM0001"), (recorded.PromptId, recorded.Rating, recorded.ExternalId));
        Assert.NotEmpty(first.Effects);
        Assert.Empty(second.Effects);
        Assert.Equal(first.State.Replies, second.State!.Replies);
        // Another message with its own id is a new reply.
        var third = ClientLoopDecider.Decide(second.State, reply with { ExternalId = "SM0002", Text = "4" }, Day5.AddHours(3));
        Assert.Equal(s.Replies.Count + 2, third.State!.Replies.Count);
    }

    [Fact]
    public void ConsentChangesSurviveTheStoredJson()
    {
        var s = Accept(Loop(), new ChannelOptedOut(Channel.Sms, "SMS keyword STOP", "+15005550006"), Day5);

        var json = System.Text.Json.JsonSerializer.Serialize(s, DomainJson.Default.ClientLoopState);
        var back = System.Text.Json.JsonSerializer.Deserialize(json, DomainJson.Default.ClientLoopState)!;

        Assert.Equal(s.Consent, back.Consent with { Changes = s.Consent.Changes });
        Assert.Equal(s.Consent.Changes, back.Consent.Changes);
        // A state written before consent history existed loads with an empty one.
        var old = System.Text.Json.Nodes.JsonNode.Parse(json)!;
        old["consent"]!.AsObject().Remove("changes");
        Assert.Equal(ImmutableList<ConsentChange>.Empty, System.Text.Json.JsonSerializer.Deserialize(old.ToJsonString(), DomainJson.Default.ClientLoopState)!.Consent.Changes);
    }
}
