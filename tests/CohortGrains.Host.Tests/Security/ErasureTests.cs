using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using CohortGrains.Host.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CohortGrains.Host.Tests.Security;

/// <summary>
/// A client who lived a whole cycle (touches sent, a reply that escalated, the coach's note on the alert, a link, an
/// export) is erased; then their name, phone and email are in no table, no byte of the database file or its WAL, and
/// no log line, while the others' data and the cohort's numbers are untouched.
/// </summary>
public sealed class ErasureTests : IAsyncLifetime
{
    private const string First = "Zebulon";
    private const string Last = "Quxworth";
    private const string Phone = "+14155559876";
    private const string Email = "zebulon.q@example.org";
    private static readonly string[] s_personal = [First, Last, Phone, Phone[1..], Email];

    private readonly LogCapture _logs = new();
    private readonly TestHost _host;
    private Org _org = null!;
    private string _zebulon = null!;
    private string _other = null!;
    private string _link = null!;

    public ErasureTests()
    {
        _host = new TestHost();
        _host.ServiceOverrides.Add(s => s.AddLogging(b => b.AddProvider(_logs)));
        // Every category at every level, the framework's included: whatever anyone logs, the capture sees it.
        _host.Settings["Logging:LogLevel:Default"] = "Trace";
        _host.Settings["Logging:LogLevel:Microsoft"] = "Trace";
        _host.Settings["Logging:LogLevel:Microsoft.AspNetCore"] = "Trace";
    }

    public async Task InitializeAsync()
    {
        _org = await Org.CreateAsync(_host);
        _zebulon = (await _org.Api.PostJsonAsync($"/api/v1/cohorts/{_org.CohortId}/clients", new
        {
            name = $"{First} {Last}", phone = Phone, email = Email, timeZone = "America/New_York", preferredHour = 9, smsConsent = true,
        }, 201))["clientId"]!.GetValue<string>();
        _other = await _org.EnrolAsync("Olive Other", "+14155550123");

        _host.Clock.SetUtcNow(new DateTimeOffset(2026, 3, 3, 15, 30, 0, TimeSpan.Zero));
        await _org.LogSessionAsync(_zebulon, $"Call {First}'s two prospects");
        await _org.LogSessionAsync(_other, "Draft the pricing page");
        await _host.AdvanceAsync(TimeSpan.FromDays(3)); // Day 2 nudge and Day 5 check go out: outbox rows with phone and name
        await _org.Api.PostJsonAsync($"/api/v1/clients/{_zebulon}/replies", new { rating = 1, text = $"stuck, {First} needs help, mail {Email}" }, 200);
        await _host.PumpAsync(); // the escalation reaches the coach's grain: an alert with the name and the words
        var alerts = await _org.Api.GetJsonAsync($"/api/v1/coaches/{_org.CoachId}/alerts");
        var alertId = alerts.AsArray().Single()!["alertId"]!.GetValue<string>();
        await _org.Api.PostJsonAsync($"/api/v1/coaches/{_org.CoachId}/alerts/{alertId}/handle", new { note = $"called {First} {Last} on {Phone}" }, 200);
        await _host.PumpAsync();
        _link = (await _org.Api.PostJsonAsync($"/api/v1/clients/{_zebulon}/links", new { }, 201))["token"]!.GetValue<string>();
        await _org.Api.GetJsonAsync($"/api/v1/clients/{_zebulon}/export");
    }

    public Task DisposeAsync()
    {
        _host.Dispose();
        return Task.CompletedTask;
    }

    private string Db => DatabaseScan.PathOf(_host);

    [Fact]
    public async Task AfterErasureNoTableAndNoByteOfTheDatabaseHoldsTheClientsNamePhoneOrEmail()
    {
        // The control: before, they are everywhere (grain state, projections, outbox, the coach's alert).
        Assert.Contains("outbox.recipient", DatabaseScan.FindInTables(Db, Phone));
        Assert.Contains("grains.state", DatabaseScan.FindInTables(Db, Last));
        Assert.True(DatabaseScan.FindInTables(Db, First).Count >= 3);

        var erased = await _org.Api.DeleteAsync($"/api/v1/clients/{_zebulon}");

        await Http.ExpectAsync(erased, 200);
        var removed = (await erased.ReadJsonAsync())["removed"]!;
        Assert.True(removed["outboxRowsScrubbed"]!.GetValue<int>() >= 2);
        Assert.Equal(1, removed["keysRevoked"]!.GetValue<int>());
        foreach (var value in s_personal)
        {
            Assert.Empty(DatabaseScan.FindInTables(Db, value));
            Assert.Empty(DatabaseScan.FindInFiles(Db, value));
        }
        // The search works: the other client is still there, in the tables and in the file's bytes.
        Assert.NotEmpty(DatabaseScan.FindInTables(Db, "Olive Other"));
        Assert.NotEmpty(DatabaseScan.FindInFiles(Db, "+14155550123"));
    }

    [Fact]
    public async Task TheErasedClientIsGoneFromTheApiTheirLinkIsDeadAndTheCohortsNumbersStand()
    {
        var before = await _org.Api.GetJsonAsync($"/api/v1/cohorts/{_org.CohortId}/dashboard");

        await Http.ExpectAsync(await _org.Api.DeleteAsync($"/api/v1/clients/{_zebulon}"), 200);

        Assert.Equal(HttpStatusCode.NotFound, (await _org.Api.GetAsync($"/api/v1/clients/{_zebulon}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _org.Api.GetAsync($"/api/v1/clients/{_zebulon}/export")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _org.Api.PostAsJsonAsync($"/api/v1/clients/{_zebulon}/replies", new { rating = 4 })).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await _host.ClientWithKey(_link).GetAsync($"/api/v1/clients/{_zebulon}")).StatusCode);
        Assert.Equal("Olive Other", (await _org.Api.GetJsonAsync($"/api/v1/clients/{_other}"))["name"]!.GetValue<string>());
        // The cohort's history is not rewritten: same clients, same replies, same escalations.
        var after = await _org.Api.GetJsonAsync($"/api/v1/cohorts/{_org.CohortId}/dashboard");
        Assert.Equal(before["clients"]!.GetValue<int>(), after["clients"]!.GetValue<int>());
        Assert.Equal(before["escalations"]!.GetValue<int>(), after["escalations"]!.GetValue<int>());
        Assert.Equal(before["replyRate"]?.GetValue<double>(), after["replyRate"]?.GetValue<double>());
        var alert = (await _org.Api.GetJsonAsync($"/api/v1/coaches/{_org.CoachId}/alerts")).AsArray().Single()!;
        Assert.Equal(("[erased]", "[erased]", _zebulon), (alert["clientName"]!.GetValue<string>(), alert["handledNote"]!.GetValue<string>(), alert["clientId"]!.GetValue<string>()));
        var touches = await _org.Api.GetJsonAsync($"/api/v1/touches?clientId={_zebulon}");
        Assert.All(touches["touches"]!.AsArray(), t => Assert.Equal(("", ""), (t!["recipient"]!.GetValue<string>(), t["body"]!.GetValue<string>())));

        // Nothing runs for the erased client any more, however far time moves.
        await _host.AdvanceAsync(TimeSpan.FromDays(14), TimeSpan.FromHours(6));
        Assert.Equal(touches["touches"]!.AsArray().Count, (await _org.Api.GetJsonAsync($"/api/v1/touches?clientId={_zebulon}"))["touches"]!.AsArray().Count);
    }

    [Fact]
    public async Task ErasureIsAnAdminsDecisionIsAuditedWithIdsOnlyAndCanBeRepeated()
    {
        var (coachKey, _) = await SecurityWorld.CoachKeyAsync(_org.Api, _org.CoachId);
        Assert.Equal(HttpStatusCode.Forbidden, (await _host.ClientWithKey(coachKey).DeleteAsync($"/api/v1/clients/{_zebulon}")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await _host.ClientWithKey(_link).DeleteAsync($"/api/v1/clients/{_zebulon}")).StatusCode);

        await Http.ExpectAsync(await _org.Api.DeleteAsync($"/api/v1/clients/{_zebulon}"), 200);
        await Http.ExpectAsync(await _org.Api.DeleteAsync($"/api/v1/clients/{_zebulon}"), 200);
        Assert.Equal(HttpStatusCode.NotFound, (await _org.Api.DeleteAsync("/api/v1/clients/cli_nosuchclient")).StatusCode);

        var audit = await _org.Api.GetJsonAsync($"/api/v1/audit?targetId={_zebulon}&limit=500");
        var entries = audit["entries"]!.AsArray();
        Assert.Contains(entries, e => e!["action"]!.GetValue<string>() == "client.erased" && e["actorRole"]!.GetValue<string>() == "org-admin");
        Assert.Contains(entries, e => e!["action"]!.GetValue<string>() == "session.logged");
        Assert.All(entries, e => Assert.Null(e!["detail"]));
    }

    [Fact]
    public async Task NoLogLineEverCarriesTheClientsPhoneOrEmail()
    {
        await Http.ExpectAsync(await _org.Api.DeleteAsync($"/api/v1/clients/{_zebulon}"), 200);
        await _host.AdvanceAsync(TimeSpan.FromDays(2), TimeSpan.FromHours(6));

        Assert.True(_logs.Lines.Count > 200, $"only {_logs.Lines.Count} log lines captured");
        Assert.Contains(_logs.Lines, l => l.Contains(_zebulon, StringComparison.Ordinal)); // ids are logged, so the capture sees this client's requests
        foreach (var value in new[] { Phone, Phone[1..], Email })
            Assert.DoesNotContain(_logs.Lines, l => l.Contains(value, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>Every log line at every level, with its structured values, as text.</summary>
    private sealed class LogCapture : ILoggerProvider
    {
        public ConcurrentQueue<string> Lines { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void Dispose()
        {
        }

        private sealed class Logger(LogCapture owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull
            {
                owner.Lines.Enqueue($"{category} scope: {state}");
                return null;
            }

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                var values = state is IEnumerable<KeyValuePair<string, object?>> pairs ? string.Join(";", pairs.Select(p => $"{p.Key}={p.Value}")) : "";
                owner.Lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)} [{values}] {exception}");
            }
        }
    }
}
