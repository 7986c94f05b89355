using CohortGrains.Domain.ClientLoops;

namespace CohortGrains.Domain.Tests;

public class ReplyParserTests
{
    [Theory]
    [InlineData("4", 4, null)]
    [InlineData("  5  ", 5, null)]
    [InlineData("1", 1, null)]
    [InlineData("2 stuck on pricing", 2, "stuck on pricing")]
    [InlineData("3, ok week", 3, "ok week")]
    [InlineData("4/5", 4, null)]
    [InlineData("4 / 5 decent", 4, "decent")]
    [InlineData("3 out of 5", 3, null)]
    [InlineData("5!", 5, null)]
    [InlineData("five", 5, null)]
    [InlineData("Four - good progress", 4, "good progress")]
    [InlineData("TWO", 2, null)]
    public void NumbersAndNumberWordsAreRatings(string text, int rating, string? remark)
    {
        var parsed = ReplyParser.Parse(text);

        Assert.Equal(rating, parsed.Rating);
        Assert.Equal(remark, parsed.Remark);
    }

    [Theory]
    [InlineData("⭐⭐⭐", 3)]
    [InlineData("⭐", 1)]
    [InlineData("★★★★★", 5)]
    [InlineData("4️⃣", 4)]
    [InlineData("2️⃣", 2)]
    [InlineData("😐", 3)]
    [InlineData("🙂", 4)]
    [InlineData("👍", 4)]
    [InlineData("😩", 1)]
    [InlineData("🙁", 2)]
    [InlineData("🎉", 5)]
    public void EmojiAreRatings(string text, int rating)
    {
        var parsed = ReplyParser.Parse(text);

        Assert.Equal(rating, parsed.Rating);
        Assert.Null(parsed.Remark);
    }

    [Theory]
    [InlineData("👍🏽", 4)]
    [InlineData("👎🏿 no time", 1)]
    [InlineData("⭐️⭐️⭐️", 3)]
    [InlineData("☹️", 2)]
    [InlineData("☹", 2)]
    public void EmojiVariantsAreRatingsToo(string text, int rating) =>
        Assert.Equal(rating, ReplyParser.Parse(text).Rating);

    [Fact]
    public void AKeycapRatingKeepsOnlyTheRestAsTheRemark()
    {
        var parsed = ReplyParser.Parse("4️⃣ good week");

        Assert.Equal(4, parsed.Rating);
        Assert.Equal("good week", parsed.Remark);
    }

    [Fact]
    public void StarsFollowedByTextAreARatingWithARemark()
    {
        var parsed = ReplyParser.Parse("⭐⭐ stuck on pricing");

        Assert.Equal(2, parsed.Rating);
        Assert.True(parsed.SaysStuck);
        Assert.Equal("stuck on pricing", parsed.Remark);
    }

    [Theory]
    [InlineData("10")]
    [InlineData("10/10")]
    [InlineData("6")]
    [InlineData("0")]
    [InlineData("⭐⭐⭐⭐⭐⭐")]
    [InlineData("called 2 prospects")]
    [InlineData("5th call went well")]
    [InlineData("2nd meeting booked")]
    [InlineData("great week 🙂")]
    public void ThingsThatAreNotARating(string text) =>
        Assert.Null(ReplyParser.Parse(text).Rating);

    [Fact]
    public void TextOnlyRepliesKeepTheWholeTextAsTheRemark()
    {
        var parsed = ReplyParser.Parse("made both calls, one said yes");

        Assert.Null(parsed.Rating);
        Assert.False(parsed.SaysStuck);
        Assert.Equal("made both calls, one said yes", parsed.Remark);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    public void EmptyRepliesSayNothing(string? text) =>
        Assert.Equal(new ParsedReply(null, false, null), ReplyParser.Parse(text));

    [Theory]
    [InlineData("stuck")]
    [InlineData("Blocked on legal")]
    [InlineData("no time for calls")]
    [InlineData("need help")]
    [InlineData("I can’t get started")]
    [InlineData("haven’t started")]
    [InlineData("STRUGGLING")]
    public void StuckWords(string text) => Assert.True(ReplyParser.SaysStuck(text));

    [Theory]
    [InlineData("not stuck")]
    [InlineData("Not blocked anymore")]
    [InlineData("no longer stuck")]
    [InlineData("unstuck now")]
    [InlineData("this really helped")]
    [InlineData("helpful session")]
    [InlineData("no timeline yet, all good")]
    [InlineData("going well")]
    public void NotStuckWords(string text) => Assert.False(ReplyParser.SaysStuck(text));

    [Theory]
    [InlineData("5 can't wait to show you")]
    [InlineData("cannot wait for Monday")]
    [InlineData("4, can't complain")]
    [InlineData("can’t believe how well it went")]
    public void HappyPhrasesWithCantAreNotStuck(string text) => Assert.False(ReplyParser.SaysStuck(text));

    [Fact]
    public void CantStillMeansStuckOutsideThoseHappyPhrases() =>
        Assert.True(ReplyParser.SaysStuck("can't wait any longer for legal, can't send the offer"));

    [Fact]
    public void NotStuckInOnePlaceButStuckInAnotherIsStuck() =>
        Assert.True(ReplyParser.SaysStuck("not stuck on calls, but no time for the page"));
}
