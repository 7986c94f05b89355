using CohortGrains.Domain.ClientLoops;
using CohortGrains.Domain.Common;
using CohortGrains.Domain.Programs;

namespace CohortGrains.Domain.Tests;

/// <summary>The coach's personal message to a client, and the client's own quiet hours and preferred hour.</summary>
public class ContactTests
{
    // Wed 2026-06-03 11:00 EDT: after the Day-2 nudge, before the Day-5 check.
    private static readonly DateTimeOffset Wednesday = A.T("2026-06-03T15:00Z");

    [Fact]
    public void ACoachMessageLeavesThroughTheOutboxSignedAndOutsideTheWeeklyCap()
    {
        var loop = LoopScenario.AfterSession();
        loop.RunUntil(Wednesday);

        var d = loop.Expect(new CoachMessageSent("m1", "  Saw your note: want to talk pricing tomorrow?  ", null), Wednesday);

        var send = Assert.Single(d.Effects.OfType<SendTouch>()).Touch;
        Assert.Equal("msg-m1", send.Id);
        Assert.Equal(Channel.Sms, send.Channel);
        Assert.Equal("+12125550100", send.Recipient);
        Assert.Equal("Saw your note: want to talk pricing tomorrow?\n— Sam Rivera", send.Body);
        Assert.Null(send.PromptId);
        var record = loop.State.Touches.Single(t => t.Id == "msg-m1");
        Assert.False(record.CountsTowardCap);
        Assert.False(record.IsPrompt);
        // The open check-in prompt is untouched: a bare "4" still answers the check-in, not the coach's words.
        Assert.Equal(ClientLoopDecider.CoachMessageTemplate, record.TouchpointKey);
    }

    [Fact]
    public void TheSameMessageIdSendsOnce()
    {
        var loop = LoopScenario.AfterSession();
        loop.Expect(new CoachMessageSent("m1", "Hello", Channel.Email), Wednesday);

        var again = loop.Expect(new CoachMessageSent("m1", "Hello", Channel.Email), Wednesday.AddMinutes(1));

        Assert.Empty(again.Effects);
        Assert.Single(loop.State.Touches, t => t.Id == "msg-m1");
        Assert.Equal("A message from Sam Rivera", loop.SentTouch("msg-m1").Subject);
    }

    [Fact]
    public void AMessageFallsBackToAChannelTheClientCanBeReachedOn()
    {
        var loop = LoopScenario.AfterSession(A.Enroll(consent: new Consent(SmsOptIn: false)));

        var d = loop.Expect(new CoachMessageSent("m2", "Hello", Channel.Sms), Wednesday);

        Assert.Equal(Channel.Email, Assert.Single(d.Effects.OfType<SendTouch>()).Touch.Channel);
    }

    [Theory]
    [InlineData("", "Hello")]
    [InlineData("has space", "Hello")]
    [InlineData("m3", "   ")]
    public void EmptyTextOrABadIdIsRefused(string id, string text)
    {
        var loop = LoopScenario.AfterSession();

        var d = loop.Tell(new CoachMessageSent(id, text, null), Wednesday);

        Assert.Equal(Rejection.Invalid, d.Rejected?.Code);
    }

    [Fact]
    public void NoMessageAfterTheProgramEnded()
    {
        var loop = LoopScenario.AfterSession();
        loop.Expect(new ProgramEnded("done"), Wednesday);

        Assert.Equal(Rejection.Conflict, loop.Tell(new CoachMessageSent("m4", "Hello", null), Wednesday).Rejected?.Code);
    }

    [Fact]
    public void ANewPreferredHourReplansTheTouchesNotSentYet()
    {
        var loop = LoopScenario.AfterSession();
        Assert.Equal(A.Local(A.NewYork, 2026, 6, 6, 9), loop.Due("touch:1:day5"));

        loop.Expect(new ContactPreferencesChanged(null, 18), Wednesday);

        Assert.Equal(18, loop.State.Profile.PreferredHour);
        Assert.Equal(A.Local(A.NewYork, 2026, 6, 6, 18), loop.Due("touch:1:day5"));
        Assert.Equal(A.Local(A.NewYork, 2026, 6, 7, 18), loop.Due("touch:1:day6"));
    }

    [Fact]
    public void LongerQuietHoursAreKeptAndShorterOnesRefused()
    {
        var loop = LoopScenario.AfterSession();

        loop.Expect(new ContactPreferencesChanged(new QuietHours(new TimeOnly(20, 0), new TimeOnly(9, 0)), 10), Wednesday);
        var shorter = loop.Tell(new ContactPreferencesChanged(new QuietHours(new TimeOnly(23, 0), new TimeOnly(7, 0)), null), Wednesday);
        var hourInside = loop.Tell(new ContactPreferencesChanged(null, 8), Wednesday);

        Assert.Equal(new QuietHours(new TimeOnly(20, 0), new TimeOnly(9, 0)), loop.State.QuietHours);
        Assert.Equal(Rejection.Invalid, shorter.Rejected?.Code);
        Assert.Contains("08:00 falls in the quiet hours", hourInside.Rejected?.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void UnchangedPreferencesChangeNothing()
    {
        var loop = LoopScenario.AfterSession();

        var d = loop.Expect(new ContactPreferencesChanged(null, 9), Wednesday);

        Assert.Empty(d.Effects);
    }
}
