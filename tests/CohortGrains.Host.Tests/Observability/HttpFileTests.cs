using CohortGrains.Host.Tests.Infrastructure;

namespace CohortGrains.Host.Tests.Observability;

/// <summary>CohortGrains.http at the repository root: a request for every endpoint, and every one of them works.</summary>
public sealed class HttpFileTests : IDisposable
{
    private readonly TestHost _host = new();
    private readonly HttpFile _file = HttpFile.Parse(File.ReadAllText(HttpFile.RepositoryFile("CohortGrains.http")));

    public void Dispose() => _host.Dispose();

    [Fact]
    public void EveryMappedApiEndpointHasARequestInTheFile()
    {
        // {{api}}/coaches/{{coachId}}/alerts?open=true → /api/v1/coaches/{}/alerts
        var inFile = _file.Requests.Select(r => (r.Method, Template(r.Url))).ToHashSet();

        var missing = OpenApiTests.ApiEndpoints(_host.Services)
            .Where(e => !inFile.Contains((e.Method, System.Text.RegularExpressions.Regex.Replace(e.Path, @"\{[^}]+\}", "{}"))))
            .ToList();

        Assert.True(missing.Count == 0, "CohortGrains.http has no request for: " + string.Join(", ", missing.Select(m => $"{m.Method} {m.Path}")));
    }

    [Fact]
    public async Task EveryRequestInTheFileSucceedsAgainstTheHostInOrder()
    {
        // The host the file would be pointed at; the file's own placeholders for host and key are replaced.
        var client = _host.CreateClient();
        _file.Variables["host"] = client.BaseAddress!.ToString().TrimEnd('/');
        _file.Variables["operatorKey"] = TestHost.OperatorKey;

        foreach (var request in _file.Requests)
        {
            if (request.Headers.Any(h => h.Name.Equals(SignatureHeader, StringComparison.OrdinalIgnoreCase))) SignInboundEvent(request);
            using var message = HttpFile.ToMessage(request, _file.Resolve);
            var response = await client.SendAsync(message);
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.IsSuccessStatusCode, $"CohortGrains.http line {request.Line}: {request.Method} {message.RequestUri} answered {(int)response.StatusCode}: {body}");
            if (request.Name is not null) _file.Remember(request.Name, body);
            // On a real node the workers run at once; here they run when pumped.
            await _host.PumpAsync();
        }
    }

    private const string SignatureHeader = "X-CohortGrains-Signature";

    /// <summary>
    /// A .http file cannot compute an HMAC, so the file leaves the signed event's timestamp and signature to the reader,
    /// with the command that makes them: this does the same, with the secret the file's own earlier request received
    /// and the body exactly as it is sent. The endpoint still checks both, as it would the reader's.
    /// </summary>
    private void SignInboundEvent(HttpFile.Request request)
    {
        var timestamp = _host.Clock.GetUtcNow().ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        _file.Variables["eventTimestamp"] = timestamp;
        var secret = _file.Resolve("{{inboundSecret.response.body.$.secret}}");
        var payload = System.Text.Encoding.UTF8.GetBytes(timestamp + "." + _file.Resolve(request.Body ?? ""));
        _file.Variables["eventSignature"] = "v1=" + Convert.ToHexStringLower(
            System.Security.Cryptography.HMACSHA256.HashData(System.Text.Encoding.UTF8.GetBytes(secret), payload));
    }

    private string Template(string url)
    {
        var path = url.Replace("{{api}}", "/api/v1", StringComparison.Ordinal).Split('?')[0];
        return System.Text.RegularExpressions.Regex.Replace(path, @"\{\{[^}]+\}\}", "{}");
    }
}
