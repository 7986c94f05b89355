using System.Text.Json;
using CohortGrains.Domain.Common;

namespace CohortGrains.Domain.Tests;

public class TextTests
{
    [Fact]
    public void CommitmentsAreListedTheWayPeopleSayThem()
    {
        Assert.Equal("", Text.JoinNatural([]));
        Assert.Equal("a", Text.JoinNatural(["a"]));
        Assert.Equal("a and b", Text.JoinNatural(["a", "b"]));
        Assert.Equal("a, b and c", Text.JoinNatural(["a", "b", "c"]));
    }

    [Theory]
    [InlineData("Make two calls", "make two calls")]
    [InlineData("CRM cleanup", "CRM cleanup")]
    [InlineData("I will call Priya", "I will call Priya")]
    [InlineData("x", "x")]
    public void MidSentenceLowersOnlyAnOrdinaryCapital(string input, string expected) =>
        Assert.Equal(expected, Text.MidSentence(input));

    [Theory]
    [InlineData("Dana Whitfield", "Dana")]
    [InlineData("  Dana  ", "Dana")]
    [InlineData("Cher", "Cher")]
    public void FirstName(string name, string expected) => Assert.Equal(expected, Text.FirstName(name));

    [Fact]
    public void LongQuotesAreShortenedWithAnEllipsis()
    {
        Assert.Equal("'short'", Text.Quote("short"));
        var quoted = Text.Quote(new string('a', 80));
        Assert.Equal("'" + new string('a', 59) + "…'", quoted);
    }

    [Fact]
    public void ShorteningNeverSplitsAnEmoji()
    {
        // The cut at 59 chars falls inside the surrogate pair of the first 😩.
        var text = "no time " + new string('a', 50) + "😩😩😩 end";

        var quoted = Text.Quote(text);

        Assert.EndsWith("a…'", quoted);
        Assert.DoesNotContain(quoted, c => char.IsSurrogate(c));
    }

    [Fact]
    public void AStuckDetailWithEmojiSurvivesStorage()
    {
        var loop = LoopScenario.AfterSession();
        loop.Expect(A.Reply("no time " + new string('a', 50) + "😩😩😩 end"), A.T("2026-06-03T15:00Z"));

        var json = JsonSerializer.Serialize(loop.State, DomainJson.Default.ClientLoopState);

        Assert.Equal(loop.State.StatusDetail, JsonSerializer.Deserialize(json, DomainJson.Default.ClientLoopState)!.StatusDetail);
    }
}
