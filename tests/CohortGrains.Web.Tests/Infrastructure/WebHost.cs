using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using CohortGrains.Runtime.Time;
using CohortGrains.Runtime.Workers;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace CohortGrains.Web.Tests.Infrastructure;

/// <summary>
/// The real host in-process on Kestrel (a browser needs a real port; the default TestServer is in memory), on its own
/// SQLite file, with a fake clock and the workers off: tests move time and run due work themselves, as the host tests do.
/// Plain HTTP on loopback, so secure-only cookies are relaxed as <c>Web:RequireSecureCookies</c> documents for development.
/// </summary>
public sealed class WebHost : WebApplicationFactory<Program>
{
    public const string OperatorKey = "cg_web-test-operator-key-0123456789";
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "cohortgrains-web-tests", Guid.NewGuid().ToString("N"));
    private readonly int _port = FreePort();

    public WebHost()
    {
        // A fixed port chosen now, so the portal links the host issues already point at it.
        UseKestrel(_port);
        StartServer();
    }

    /// <summary>Wednesday 2026-02-11 12:00 UTC, unless a test moves it.</summary>
    public ManualClock Clock { get; } = new(new DateTimeOffset(2026, 2, 11, 12, 0, 0, TimeSpan.Zero));

    public string BaseUrl => $"http://localhost:{_port}";

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.UseSetting("Storage:DataDirectory", _dataDirectory);
        builder.UseSetting("Operator:ApiKey", OperatorKey);
        builder.UseSetting("Workers:Enabled", "false");
        builder.UseSetting("RateLimiting:Enabled", "false");
        builder.UseSetting("Web:RequireSecureCookies", "false");
        builder.UseSetting("PublicBaseUrl", BaseUrl);
        builder.ConfigureServices(services =>
        {
            services.RemoveAll<TimeProvider>();
            services.AddSingleton<TimeProvider>(Clock);
        });
    }

    /// <summary>Runs every due timer, grain message and outbox send at the fake clock's now, until nothing is left.</summary>
    public Task<int> PumpAsync() => Services.GetRequiredService<WorkPump>().RunUntilIdleAsync();

    /// <summary>Moves the clock to <paramref name="to"/> in steps, running what falls due at (about) its own time.</summary>
    public async Task AdvanceToAsync(DateTimeOffset to, TimeSpan? step = null)
    {
        var size = step ?? TimeSpan.FromMinutes(30);
        while (Clock.GetUtcNow() < to)
        {
            var next = Clock.GetUtcNow() + size;
            Clock.SetUtcNow(next < to ? next : to);
            await PumpAsync();
        }
    }

    public HttpClient Api(string key)
    {
        var client = new HttpClient { BaseAddress = new Uri(BaseUrl) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        try
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(_dataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

public static class Json
{
    public static async Task<JsonNode> SendAsync(this HttpClient client, HttpMethod method, string url, object? body, int expected)
    {
        using var request = new HttpRequestMessage(method, url) { Content = body is null ? null : JsonContent.Create(body) };
        var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        if ((int)response.StatusCode != expected)
            throw new Xunit.Sdk.XunitException($"{method} {url} answered {(int)response.StatusCode}, expected {expected}: {text}");
        return text.Length == 0 ? new JsonObject() : JsonNode.Parse(text)!;
    }

    public static Task<JsonNode> PostAsync(this HttpClient client, string url, object body, int expected = 200) => client.SendAsync(HttpMethod.Post, url, body, expected);

    public static Task<JsonNode> GetJsonAsync(this HttpClient client, string url) => client.SendAsync(HttpMethod.Get, url, null, 200);

    public static string Str(this JsonNode node, string property) => node[property]!.GetValue<string>();
}
