using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using CohortGrains.Host.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace CohortGrains.Web.Tests.Infrastructure;

/// <summary>
/// The test host (fake clock, workers off, its own SQLite file) served on Kestrel, because a browser needs a real port
/// (the default TestServer is in memory). Plain HTTP on loopback, so secure-only cookies are relaxed as
/// <c>Web:RequireSecureCookies</c> documents for development.
/// </summary>
public sealed class WebHost : TestHost
{
    private readonly int _port = FreePort();

    /// <summary>Starts on Wednesday 2026-02-11 12:00 UTC, unless a test moves the clock.</summary>
    public WebHost() : base(new DateTimeOffset(2026, 2, 11, 12, 0, 0, TimeSpan.Zero))
    {
        Settings["Web:RequireSecureCookies"] = "false";
        // A fixed port chosen now, so the portal links the host issues already point at it.
        Settings["PublicBaseUrl"] = BaseUrl;
        UseKestrel(_port);
        StartServer();
    }

    public string BaseUrl => $"http://localhost:{_port}";

    /// <summary>Moves the clock to <paramref name="to"/> in steps, running what falls due at (about) its own time.</summary>
    public Task AdvanceToAsync(DateTimeOffset to, TimeSpan? step = null) =>
        AdvanceAsync(to - Clock.GetUtcNow(), step ?? TimeSpan.FromMinutes(30));

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
}
