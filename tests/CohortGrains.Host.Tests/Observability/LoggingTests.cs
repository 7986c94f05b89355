using System.Net.Http.Json;
using CohortGrains.Host.Observability;
using CohortGrains.Host.Tests.Infrastructure;
using CohortGrains.Runtime;
using CohortGrains.Runtime.Channels;
using CohortGrains.Runtime.Storage;
using CohortGrains.Runtime.Workers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;

namespace CohortGrains.Host.Tests.Observability;

/// <summary>Log lines an operator can act on, and that leak nothing: every entry at every level is captured and searched.</summary>
public sealed class LoggingTests : IDisposable
{
    private const string Phone = "+14155550101";
    private const string Email = "ava@example.com";
    private const string ProviderToken = "cg_tw1l10-auth-t0ken-5ecret";

    private readonly TestHost _host = new();
    private readonly LogCapture _logs = new();

    public LoggingTests() => _host.ServiceOverrides.Add(_logs.Attach);

    public void Dispose() => _host.Dispose();

    private void AssertNothingLeaks(params string[] secrets)
    {
        foreach (var entry in _logs.Entries)
            foreach (var secret in secrets)
                Assert.False(entry.AllText.Contains(secret, StringComparison.OrdinalIgnoreCase),
                    $"{entry.Category} logged '{secret}': {entry.AllText}");
    }

    [Fact]
    public async Task ProviderFaultsAreOneMaskedLineEachWithTheGrainAndACorrelationId()
    {
        var attempts = 0;
        _host.ServiceOverrides.Add(services =>
        {
            services.RemoveAll<IChannel>();
            // The kind of text real providers return: the number, the address and even the credentials they were given.
            services.AddSingleton<IChannel>(new FaultyChannel("sms", m => ++attempts == 1
                ? new SendOutcome.Transient($"429 from https://AC1:{ProviderToken}@api.twilio.com for {m.Recipient}", TimeSpan.FromSeconds(30))
                : new SendOutcome.Permanent($"The 'To' number {m.Recipient} is unreachable (owner {Email}, Authorization: Bearer {ProviderToken})", "21612")));
            services.AddSingleton<IChannel>(new CohortGrains.Channels.RecordingChannel("email"));
            services.AddSingleton<IChannel>(new CohortGrains.Channels.RecordingChannel("inapp"));
        });
        var org = await Org.CreateAsync(_host);
        var clientId = await org.EnrolAsync("Ava Brooks", phone: Phone);
        _host.Clock.SetUtcNow(new DateTimeOffset(2026, 3, 3, 15, 30, 0, TimeSpan.Zero));
        await org.LogSessionAsync(clientId, "Make two prospecting calls");

        await _host.AdvanceAsync(TimeSpan.FromDays(2));   // the Day-2 nudge: 429, retried
        await _host.AdvanceAsync(TimeSpan.FromMinutes(5)); // the retry: permanently unreachable

        var faults = _logs.Entries.Where(e => e.Category == typeof(OutboxProcessor).FullName && e.Level >= LogLevel.Warning).ToList();
        Assert.Equal(2, attempts);
        Assert.Equal(2, faults.Count);
        var grain = new GrainId(org.OrgId, "ClientLoop", clientId).ToString();
        Assert.All(faults, f =>
        {
            Assert.Equal(grain, f.Value("Grain"));
            Assert.Contains(grain, f.Message);
            Assert.Matches("^[0-9a-f]{16,32}$", f.Value("CorrelationId"));
            Assert.Contains("+1********01", f.Message);
        });
        Assert.NotEqual(faults[0].Value("CorrelationId"), faults[1].Value("CorrelationId"));
        Assert.Contains("21612", faults[1].Message);
        AssertNothingLeaks(Phone, "4155550101", Email, ProviderToken, OperatorKeyTail, org.ApiKey);
    }

    private static string OperatorKeyTail => TestHost.OperatorKey[3..];

    [Fact]
    public async Task AFailedTurnIsOneErrorLineWithTheGrainAndACorrelationId()
    {
        var org = await Org.CreateAsync(_host);
        var clientId = await org.EnrolAsync();
        var grain = new GrainId(org.OrgId, "ClientLoop", clientId);
        // A message no release can read: its turn throws and rolls back; the timer stays for a later attempt.
        await _host.Store.EnqueueMessagesAsync([new MessageWrite(grain, "{\"$type\":\"NoSuchMessage\"}")], _host.Clock.GetUtcNow(), default);

        await _host.PumpAsync();

        var failure = Assert.Single(_logs.Entries, e => e.Level >= LogLevel.Error);
        Assert.Equal(typeof(GrainRuntime).FullName, failure.Category);
        Assert.Equal(grain.ToString(), failure.Value("Grain"));
        Assert.Equal("message", failure.Value("Trigger"));
        Assert.Matches("^[0-9a-f]{16,32}$", failure.Value("CorrelationId"));
        Assert.NotNull(failure.Exception);
        var metrics = MetricsEndpointTests.Samples(await (await _host.Operator().GetAsync("/metrics")).Content.ReadAsStringAsync());
        Assert.Equal(1, metrics["cohortgrains_turn_failures_total{grain_type=\"ClientLoop\",trigger=\"message\"}"]);
    }

    [Fact]
    public async Task ARequestKeepsTheCallersCorrelationIdInTheResponseTheProblemAndTheLogScope()
    {
        var org = await Org.CreateAsync(_host);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/clients/cli_missing");
        request.Headers.Add(RequestObservabilityMiddleware.CorrelationHeader, "launch-day-42");
        var response = await org.Api.SendAsync(request);

        Assert.Equal(404, (int)response.StatusCode);
        Assert.Equal("launch-day-42", response.Headers.GetValues(RequestObservabilityMiddleware.CorrelationHeader).Single());
        var problem = await response.ReadJsonAsync();
        Assert.Equal("launch-day-42", problem["correlationId"]!.GetValue<string>());
        Assert.Contains(_logs.Entries, e => e.Value("CorrelationId") == "launch-day-42");

        // An id that could forge log lines is replaced, not echoed.
        using var forged = new HttpRequestMessage(HttpMethod.Get, "/health/live");
        forged.Headers.TryAddWithoutValidation(RequestObservabilityMiddleware.CorrelationHeader, "x\" injected=\"1");
        var replaced = (await _host.CreateClient().SendAsync(forged)).Headers.GetValues(RequestObservabilityMiddleware.CorrelationHeader).Single();
        Assert.Matches("^[0-9a-f]{16,32}$", replaced);
    }

    [Fact]
    public async Task KeysAndContactDetailsSentToTheApiAreNeverLogged()
    {
        var org = await Org.CreateAsync(_host);
        const string wrongKey = "cg_not-a-real-key-but-secret-all-the-same";
        var wrong = await _host.ClientWithKey(wrongKey).GetAsync("/api/v1/org");
        Assert.Equal(401, (int)wrong.StatusCode);
        var enrol = await org.Api.PostAsJsonAsync($"/api/v1/cohorts/{org.CohortId}/clients",
            new { name = "Ava Brooks", phone = Phone, email = Email, timeZone = "America/New_York", preferredHour = 9, smsConsent = true });
        Assert.Equal(201, (int)enrol.StatusCode);
        await _host.Operator().GetAsync("/metrics");

        Assert.NotEmpty(_logs.Entries);
        AssertNothingLeaks(wrongKey, OperatorKeyTail, org.ApiKey, Phone, Email);
    }

    [Fact]
    public void LoggingFormatJsonSwitchesTheConsoleToOneJsonObjectPerLineWithScopes()
    {
        _host.Settings["Logging:Format"] = "json";

        var console = _host.Services.GetRequiredService<IOptionsMonitor<ConsoleLoggerOptions>>().CurrentValue;
        var json = _host.Services.GetRequiredService<IOptionsMonitor<JsonConsoleFormatterOptions>>().CurrentValue;

        Assert.Equal(ConsoleFormatterNames.Json, console.FormatterName);
        Assert.True(json.IncludeScopes); // CorrelationId travels as a scope
        Assert.True(json.UseUtcTimestamp);
    }
}
