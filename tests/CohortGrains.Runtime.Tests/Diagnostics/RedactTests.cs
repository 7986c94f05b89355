using CohortGrains.Runtime.Diagnostics;

namespace CohortGrains.Runtime.Tests.Diagnostics;

public sealed class RedactTests
{
    [Theory]
    [InlineData("+14155550101", "+1********01")]
    [InlineData("+447700900123", "+4*********23")]
    [InlineData("123", "***")]
    [InlineData("", "")]
    public void PhoneKeepsOnlyTheFirstAndLastTwoCharacters(string phone, string masked) =>
        Assert.Equal(masked, Redact.Phone(phone));

    [Theory]
    [InlineData("ava@example.com", "a***@e***.com")]
    [InlineData("maya.chen@northstar.example", "m***@n***.example")]
    [InlineData("not-an-email", "***")]
    public void EmailKeepsTheFirstLettersAndTheTopLevelDomain(string email, string masked) =>
        Assert.Equal(masked, Redact.Email(email));

    [Theory]
    [InlineData("ava@example.com", "a***@e***.com")]
    [InlineData("+14155550101", "+1********01")]
    [InlineData("inbox:cli_7k2m9q4x1d", "i***")]
    public void RecipientMasksWhateverKindItIs(string recipient, string masked) =>
        Assert.Equal(masked, Redact.Recipient(recipient));

    [Fact]
    public void TextMasksContactDetailsAndSecretsButKeepsWhatWentWrong()
    {
        const string error = "Twilio 21211: The 'To' number +1 (415) 555-0101 is not valid; copy sent to ava.brooks@example.com; " +
            "request had Authorization: Bearer cg_AbCdEf0123456789xyz and auth_token=5f2b9c7d1e and came from https://AC123:s3cr3t@api.twilio.com/x; " +
            "retry 4155550199 at 2026-03-05T14:00:00Z";

        var masked = Redact.Text(error);

        foreach (var leaked in new[] { "415) 555-0101", "ava.brooks", "example.com", "cg_AbCdEf", "5f2b9c7d1e", "s3cr3t", "4155550199" })
            Assert.DoesNotContain(leaked, masked);
        // What an operator needs stays: the provider's code, the masked shapes, the timestamp.
        Assert.Contains("Twilio 21211: The 'To' number +1", masked);
        Assert.Contains("a***@e***.com", masked);
        Assert.Contains("2026-03-05T14:00:00Z", masked);
        Assert.Contains("https://***@api.twilio.com/x", masked);
    }

    [Fact]
    public void CorrelationAcceptsOnlyShortPlainIds()
    {
        Assert.True(Correlation.IsAcceptable("req-42_a.b:c"));
        Assert.False(Correlation.IsAcceptable("two\nlines"));
        Assert.False(Correlation.IsAcceptable(new string('a', Correlation.MaxLength + 1)));
        Assert.False(Correlation.IsAcceptable(""));
        Assert.Matches("^[0-9a-f]{16}$|^[0-9a-f]{32}$", Correlation.NewId());
    }
}
