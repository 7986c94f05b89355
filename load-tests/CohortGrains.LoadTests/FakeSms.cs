using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace CohortGrains.LoadTests;

/// <summary>
/// A stand-in for Twilio's Messages API on 127.0.0.1 (ephemeral port): accepts every message at once, as Twilio does
/// (201 with a sid, status "queued"), and keeps when each arrived and for whom, so the storm can report sends/s and
/// see duplicate deliveries. Nodes reach it through Twilio__BaseUrl; nothing leaves the machine.
/// </summary>
public sealed class FakeSms : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly ConcurrentQueue<(double At, string To)> _received = new();
    private long _count;

    private FakeSms(WebApplication app) => _app = app;

    public string BaseUrl { get; private set; } = "";
    public long Count => Interlocked.Read(ref _count);
    /// <summary>Seconds since this endpoint started, on the same clock as <see cref="Received"/>.</summary>
    public double Now => _clock.Elapsed.TotalSeconds;
    public IReadOnlyCollection<(double At, string To)> Received => _received;

    public static async Task<FakeSms> StartAsync(CancellationToken ct)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var sms = new FakeSms(app);
        app.MapPost("/2010-04-01/Accounts/{account}/Messages.json", async (HttpRequest request) =>
        {
            var form = await request.ReadFormAsync(request.HttpContext.RequestAborted);
            var n = Interlocked.Increment(ref sms._count);
            sms._received.Enqueue((sms.Now, form["To"].ToString()));
            return Results.Json(new { sid = $"SMload{n:D12}", status = "queued" }, statusCode: 201);
        });
        await app.StartAsync(ct);
        sms.BaseUrl = app.Urls.First();
        return sms;
    }

    /// <summary>The node settings that send SMS here (credentials are placeholders the fake does not check).</summary>
    public IReadOnlyDictionary<string, string> NodeEnvironment() => new Dictionary<string, string>
    {
        ["Twilio__BaseUrl"] = BaseUrl,
        ["Twilio__AccountSid"] = "ACloadtest",
        ["Twilio__AuthToken"] = "loadtest-token",
        ["Twilio__From"] = "+15005550006",
        // A node refuses to start with Twilio configured and a loopback public address (Twilio could never call back).
        // Nothing calls back in a load test, so any non-loopback address will do; .invalid never resolves.
        ["PublicBaseUrl"] = "https://loadtest.invalid",
    };

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
