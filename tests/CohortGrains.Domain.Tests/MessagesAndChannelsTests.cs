using System.Collections.Immutable;
using CohortGrains.Domain.ClientLoops;
using CohortGrains.Domain.Common;
using CohortGrains.Domain.Programs;

namespace CohortGrains.Domain.Tests;

public class MessagesAndChannelsTests
{
    private static LoopScenario FullCycle(Consent? consent = null, ClientProfile? profile = null)
    {
        var loop = LoopScenario.AfterSession(A.Enroll(profile, consent));
        loop.RunUntil(A.T("2026-06-07T13:00Z"));
        return loop;
    }

    [Fact]
    public void TheProgressCheckNamesTheActualCommitments()
    {
        var body = FullCycle().SentTouch("s1-day5").Body;

        Assert.Contains("Hi Dana,", body);
        Assert.Contains("how did make two prospecting calls and draft the pricing page go?", body);
        Assert.Contains("1-5", body);
    }

    [Fact]
    public void TheNudgeNamesTheFirstCommitment()
    {
        var body = FullCycle().SentTouch("s1-day2").Body;

        Assert.Contains("Dana", body);
        Assert.Contains("started on make two prospecting calls yet?", body);
        Assert.DoesNotContain("{", body);
    }

    [Fact]
    public void ThePrepEmailNamesNextSessionCommitmentsAndWhatToNoticeAndHasASubject()
    {
        var touch = FullCycle().SentTouch("s1-day6");

        Assert.Equal(Channel.Email, touch.Channel);
        Assert.Equal("dana@example.com", touch.Recipient);
        Assert.Equal("Before our call on Mon 14:00", touch.Subject);
        Assert.Contains("before our call on Mon 14:00", touch.Body);
        Assert.Contains("make two prospecting calls and draft the pricing page", touch.Body);
        Assert.Contains("(how the prospect reacts to the price)", touch.Body);
        Assert.Null(touch.PromptId); // prep only informs
    }

    [Fact]
    public void EveryEmailTouchHasASubject()
    {
        var loop = FullCycle(new Consent(SmsOptIn: false));

        Assert.All(loop.Sent, s => Assert.Equal(Channel.Email, s.Touch.Channel));
        Assert.All(loop.Sent, s => Assert.False(string.IsNullOrWhiteSpace(s.Touch.Subject)));
    }

    [Fact]
    public void SmsTouchesHaveNoSubject()
    {
        var touch = FullCycle().SentTouch("s1-day5");

        Assert.Equal(Channel.Sms, touch.Channel);
        Assert.Equal("+12125550100", touch.Recipient);
        Assert.Null(touch.Subject);
    }

    [Fact]
    public void AProgramTemplateOverrideIsPersonalisedToo()
    {
        var cadence = ImmutableList.Create(new Touchpoint("day3", 3, Channel.Sms, TouchKind.ProgressCheck,
            "{firstName}, {coachName} asks: how are {commitments} going before {nextSession}?"));
        var program = A.Program(cadence);
        var loop = LoopScenario.AfterSession(A.Enroll(program: program), A.Session(program: program));
        loop.RunUntil(A.NextSessionAt);

        Assert.Equal("Dana, Sam Rivera asks: how are make two prospecting calls and draft the pricing page going before Mon 14:00?",
            loop.SentTouch("s1-day3").Body);
    }

    [Fact]
    public void AcronymsAtTheStartOfACommitmentKeepTheirCase()
    {
        var loop = LoopScenario.AfterSession(session: A.Session(items: A.Items("CRM cleanup", "Call Priya")));
        loop.RunUntil(A.NextSessionAt);

        Assert.Contains("how did CRM cleanup and call Priya go?", loop.SentTouch("s1-day5").Body);
    }

    [Fact]
    public void SmsNeedsARecordedOptIn()
    {
        var loop = FullCycle(new Consent(SmsOptIn: false));

        Assert.Equal(Channel.Email, loop.SentTouch("s1-day2").Channel);
    }

    [Fact]
    public void OptedOutSmsFallsBackToEmailAndOptingBackInRestoresSms()
    {
        var loop = LoopScenario.AfterSession();
        loop.Expect(new ChannelOptedOut(Channel.Sms), A.T("2026-06-02T12:00Z"));
        Assert.True(loop.State.Consent.SmsOptedOut);

        loop.RunUntil(A.T("2026-06-03T13:00Z"));
        var day2 = loop.SentTouch("s1-day2");
        Assert.Equal(Channel.Email, day2.Channel);
        Assert.Equal("dana@example.com", day2.Recipient);
        Assert.Equal("A quick check-in", day2.Subject);

        loop.Expect(new ChannelOptedIn(Channel.Sms), A.T("2026-06-04T12:00Z"));
        loop.RunUntil(A.T("2026-06-06T13:00Z"));
        Assert.Equal(Channel.Sms, loop.SentTouch("s1-day5").Channel);
    }

    [Fact]
    public void StartAfterStopCountsAsAnOptInEvenWithoutAnEarlierOne()
    {
        var loop = LoopScenario.AfterSession(A.Enroll(consent: new Consent(SmsOptIn: false)));
        loop.Expect(new ChannelOptedIn(Channel.Sms), A.T("2026-06-02T12:00Z"));

        loop.RunUntil(A.T("2026-06-03T13:00Z"));

        Assert.Equal(Channel.Sms, loop.SentTouch("s1-day2").Channel);
    }

    [Fact]
    public void WithNeitherSmsNorEmailTheTouchGoesToThePortal()
    {
        var loop = FullCycle(new Consent(SmsOptIn: false), A.Profile(email: null));

        var touch = loop.SentTouch("s1-day2");
        Assert.Equal(Channel.InApp, touch.Channel);
        Assert.Equal("client-1", touch.Recipient);
    }

    [Fact]
    public void AnUnsubscribedEmailTouchFallsBackToSmsThenPortal()
    {
        var unsubscribed = new Consent(SmsOptIn: true, EmailUnsubscribed: true);
        Assert.Equal(Channel.Sms, FullCycle(unsubscribed).SentTouch("s1-day6").Channel);

        var neither = new Consent(SmsOptIn: true, SmsOptedOut: true, EmailUnsubscribed: true);
        Assert.Equal(Channel.InApp, FullCycle(neither).SentTouch("s1-day6").Channel);
    }

    [Fact]
    public void SmsWithoutAPhoneNumberFallsBackToEmail()
    {
        Assert.Equal(Channel.Email, FullCycle(profile: A.Profile(phone: null)).SentTouch("s1-day2").Channel);
    }

    [Fact]
    public void EmailUnsubscribeAndResubscribeAreRecorded()
    {
        var loop = LoopScenario.Enrolled();
        loop.Expect(new ChannelOptedOut(Channel.Email), A.SessionAt);
        Assert.True(loop.State.Consent.EmailUnsubscribed);
        loop.Expect(new ChannelOptedIn(Channel.Email), A.SessionAt);
        Assert.False(loop.State.Consent.EmailUnsubscribed);
    }

    [Fact]
    public void ThePortalCannotBeOptedOutOf()
    {
        Assert.Equal(Rejection.Invalid, LoopScenario.Enrolled().Tell(new ChannelOptedOut(Channel.InApp), A.SessionAt).Rejected?.Code);
    }

    [Fact]
    public void TouchIdsAreUniquePerClientSoTheyCanBeIdempotencyKeys()
    {
        var loop = LoopScenario.AfterSession();
        loop.RunUntil(A.NextSessionAt);
        loop.Expect(A.Session(at: A.NextSessionAt, next: A.NextSessionAt.AddDays(7)), A.NextSessionAt.AddHours(1));
        loop.RunUntil(A.NextSessionAt.AddDays(7));

        Assert.Equal(6, loop.Sent.Count);
        Assert.Equal(6, loop.Sent.Select(s => s.Touch.Id).Distinct().Count());
    }
}
