using CohortGrains.Channels.Twilio;
using Microsoft.Extensions.Primitives;

namespace CohortGrains.Channels.Tests;

/// <summary>X-Twilio-Signature against the worked examples in Twilio's webhook security docs, and our own cases.</summary>
public sealed class TwilioSignatureTests
{
    private const string DocsToken = "12345";
    private const string DocsUrl = "https://mycompany.com/myapp.php?foo=1&bar=2";

    private static Dictionary<string, StringValues> DocsParams(string caller) => new()
    {
        ["CallSid"] = "CA1234567890ABCDE",
        ["Caller"] = caller,
        ["Digits"] = "1234",
        ["From"] = caller,
        ["To"] = "+18005551212",
    };

    [Theory]
    // The current docs use +14158675310; older editions used +12349013030. Both are Twilio's own published vectors.
    [InlineData("+14158675310", "GvWf1cFY/Q7PnoempGyD5oXAezc=")]
    [InlineData("+12349013030", "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")]
    public void TwiliosDocumentedExamplesMatch(string caller, string signature)
    {
        Assert.Equal(signature, TwilioSignature.Compute(DocsToken, DocsUrl, DocsParams(caller)));
        Assert.True(TwilioSignature.IsValid(DocsToken, DocsUrl, DocsParams(caller), signature));
    }

    [Fact]
    public void AnyChangeToTheUrlParametersOrTokenInvalidatesIt()
    {
        const string signature = "GvWf1cFY/Q7PnoempGyD5oXAezc=";
        var tampered = DocsParams("+14158675310");
        tampered["Digits"] = "1235";
        var extra = DocsParams("+14158675310");
        extra["Body"] = "STOP";

        Assert.False(TwilioSignature.IsValid(DocsToken, DocsUrl, tampered, signature));
        Assert.False(TwilioSignature.IsValid(DocsToken, DocsUrl, extra, signature));
        Assert.False(TwilioSignature.IsValid(DocsToken, "https://mycompany.com/myapp.php?foo=1&bar=3", DocsParams("+14158675310"), signature));
        Assert.False(TwilioSignature.IsValid("54321", DocsUrl, DocsParams("+14158675310"), signature));
        Assert.False(TwilioSignature.IsValid(DocsToken, DocsUrl, DocsParams("+14158675310"), null));
        Assert.False(TwilioSignature.IsValid(DocsToken, DocsUrl, DocsParams("+14158675310"), ""));
        Assert.False(TwilioSignature.IsValid(null, DocsUrl, DocsParams("+14158675310"), signature));
    }

    [Fact]
    public void ParametersAreSortedByNameAndConcatenatedWithoutSeparators()
    {
        // Computed independently (Python hmac): url + "Body" + "4" + "From" + "+14155550101" + "To" + "+15005550006".
        var form = new Dictionary<string, StringValues> { ["To"] = "+15005550006", ["From"] = "+14155550101", ["Body"] = "4" };

        Assert.Equal("7IstLhHWmICBJ9tRvOWUqUHEGgo=", TwilioSignature.Compute("secret", "https://coach.example.com/webhooks/twilio/inbound", form));
    }

    [Fact]
    public void RepeatedParametersContributeEveryValueInOrder()
    {
        var a = new Dictionary<string, StringValues> { ["MediaUrl"] = new(["b", "a"]) };
        var b = new Dictionary<string, StringValues> { ["MediaUrl"] = new(["a", "b"]) };

        Assert.Equal(TwilioSignature.Compute("t", "https://x.example/h", a), TwilioSignature.Compute("t", "https://x.example/h", b));
        Assert.Equal(TwilioSignature.Compute("t", "https://x.example/hMediaUrlaMediaUrlb", []), TwilioSignature.Compute("t", "https://x.example/h", a));
    }

    [Theory]
    [InlineData("https://coach.example.com/webhooks/twilio/inbound", "https://coach.example.com:443/webhooks/twilio/inbound")]
    [InlineData("https://coach.example.com:443/webhooks/twilio/inbound", "https://coach.example.com/webhooks/twilio/inbound")]
    [InlineData("http://coach.example.com/hook?x=1", "http://coach.example.com:80/hook?x=1")]
    public void TheUrlIsAcceptedWithOrWithoutItsDefaultPort(string signedOver, string seen)
    {
        var form = new Dictionary<string, StringValues> { ["Body"] = "4" };
        var signature = TwilioSignature.Compute("token", signedOver, form);

        Assert.True(TwilioSignature.IsValid("token", seen, form, signature));
    }

    [Fact]
    public void AnotherPortIsAnotherUrl()
    {
        var form = new Dictionary<string, StringValues> { ["Body"] = "4" };
        var signature = TwilioSignature.Compute("token", "https://coach.example.com:8443/hook", form);

        Assert.False(TwilioSignature.IsValid("token", "https://coach.example.com/hook", form, signature));
        Assert.False(TwilioSignature.IsValid("token", "http://coach.example.com:8443/hook", form, signature));
        Assert.Equal(["https://coach.example.com:8443/hook"], TwilioSignature.UrlVariants("https://coach.example.com:8443/hook"));
    }
}
