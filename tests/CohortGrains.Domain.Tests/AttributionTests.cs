using CohortGrains.Domain.ClientLoops;
using CohortGrains.Domain.Common;

namespace CohortGrains.Domain.Tests;

public class AttributionTests
{
    [Fact]
    public void OneOpenPromptAtATimeANewPromptReplacesTheOpenOne()
    {
        var loop = LoopScenario.AfterSession();

        loop.RunUntil(A.T("2026-06-03T13:00Z"));
        Assert.Equal("s1-day2", loop.State.OpenPromptId);

        loop.RunUntil(A.T("2026-06-06T13:00Z"));
        Assert.Equal("s1-day5", loop.State.OpenPromptId);
        Assert.Equal("s1-day5", loop.SentTouch("s1-day5").PromptId);
    }

    [Fact]
    public void APrepTouchNeverBecomesTheOpenPrompt()
    {
        var loop = LoopScenario.AfterSession();
        loop.RunUntil(A.T("2026-06-07T13:00Z"));

        Assert.Contains(loop.Sent, s => s.Touch.Id == "s1-day6");
        Assert.Equal("s1-day5", loop.State.OpenPromptId);
    }

    [Fact]
    public void ABareReplyGoesToTheOpenPrompt()
    {
        var loop = LoopScenario.AfterSession();
        loop.RunUntil(A.T("2026-06-07T13:00Z")); // prep email went out after the check

        loop.Expect(A.Reply("4"), A.T("2026-06-07T14:00Z"));

        Assert.Equal("s1-day5", loop.State.Replies.Single().PromptId);
    }

    [Fact]
    public void AReplyWithAPromptIdGoesToThatPromptEvenAfterNewerPrompts()
    {
        var loop = LoopScenario.AfterSession();
        loop.RunUntil(A.T("2026-06-06T13:00Z"));

        // The client taps the day-2 link in the old message after the day-5 check went out.
        loop.Expect(A.Reply("started, 1 call done", promptId: "s1-day2", channel: Channel.InApp), A.T("2026-06-06T15:00Z"));

        var reply = loop.State.Replies.Single();
        Assert.Equal("s1-day2", reply.PromptId);
        Assert.Equal(Channel.InApp, reply.Channel);
        Assert.Equal("s1-day5", loop.State.OpenPromptId); // still open for a bare reply
    }

    [Fact]
    public void AnUnknownPromptIdIsRejected()
    {
        var loop = LoopScenario.AfterSession();
        loop.RunUntil(A.T("2026-06-03T13:00Z"));

        var d = loop.Tell(A.Reply("4", promptId: "s1-day5"), A.T("2026-06-03T14:00Z")); // not sent yet

        Assert.Equal(Rejection.NotFound, d.Rejected?.Code);
        Assert.Equal(Rejection.NotFound, loop.Tell(A.Reply("4", promptId: "nope"), A.T("2026-06-03T14:00Z")).Rejected?.Code);
        Assert.Empty(loop.State.Replies);
    }

    [Fact]
    public void RepliesAreNeverAttributedToAPrepTouch()
    {
        var loop = LoopScenario.AfterSession();
        loop.RunUntil(A.T("2026-06-07T13:00Z"));

        Assert.Equal(Rejection.NotFound, loop.Tell(A.Reply("4", promptId: "s1-day6"), A.T("2026-06-07T14:00Z")).Rejected?.Code);
        loop.Expect(A.Reply("4"), A.T("2026-06-07T14:00Z"));
        Assert.DoesNotContain(loop.State.Replies, r => r.PromptId == "s1-day6");
    }

    [Fact]
    public void WithOnlyAPrepTouchSentABareReplyHasNoPrompt()
    {
        var cadence = System.Collections.Immutable.ImmutableList.Create(
            new Programs.Touchpoint("prep", 6, Channel.Email, Programs.TouchKind.Prep));
        var program = A.Program(cadence);
        var loop = LoopScenario.AfterSession(A.Enroll(program: program), A.Session(program: program));
        loop.RunUntil(A.NextSessionAt);

        loop.Expect(A.Reply("thanks, see you Monday"), A.T("2026-06-07T14:00Z"));

        Assert.Null(loop.State.Replies.Single().PromptId);
    }

    [Fact]
    public void ANewSessionClosesTheOpenPrompt()
    {
        var loop = LoopScenario.AfterSession();
        loop.RunUntil(A.T("2026-06-06T13:00Z"));
        loop.Expect(A.Session(at: A.NextSessionAt, next: A.NextSessionAt.AddDays(7)), A.NextSessionAt.AddHours(1));

        loop.Expect(A.Reply("4"), A.NextSessionAt.AddHours(2));

        Assert.Null(loop.State.Replies.Single().PromptId);
    }

    [Fact]
    public void AReplyNeedsARatingOrText()
    {
        var loop = LoopScenario.AfterSession();

        Assert.Equal(Rejection.Invalid, loop.Tell(A.Reply("   "), A.T("2026-06-03T14:00Z")).Rejected?.Code);
        Assert.Equal(Rejection.Invalid, loop.Tell(A.Reply(null, rating: 6), A.T("2026-06-03T14:00Z")).Rejected?.Code);
        Assert.Equal(Rejection.Invalid, loop.Tell(A.Reply(null, rating: 0), A.T("2026-06-03T14:00Z")).Rejected?.Code);
    }

    [Fact]
    public void AOneTapRatingNeedsNoText()
    {
        var loop = LoopScenario.AfterSession();
        loop.RunUntil(A.T("2026-06-06T13:00Z"));

        loop.Expect(A.Reply(null, rating: 5, promptId: "s1-day5", channel: Channel.Email), A.T("2026-06-06T13:10Z"));

        var reply = loop.State.Replies.Single();
        Assert.Equal(5, reply.Rating);
        Assert.Null(reply.Text);
        Assert.Equal(ReplyRoute.OnTrack, reply.Route);
    }
}
