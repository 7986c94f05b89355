using System.Net;
using System.Reflection;
using CohortGrains.Host.Tests.Infrastructure;
using CohortGrains.Runtime.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace CohortGrains.Host.Tests;

/// <summary>When the database fails mid-request the caller gets a retryable 503 problem, not a 500, and nothing is written.</summary>
public sealed class StoreOutageTests : IDisposable
{
    private readonly TestHost _host = new();

    public void Dispose() => _host.Dispose();

    [Fact]
    public async Task ACommandDuringADatabaseOutageIsA503WithRetryAfterAndChangesNothing()
    {
        var outage = new Outage();
        _host.ServiceOverrides.Add(services =>
        {
            var descriptor = services.Single(d => d.ServiceType == typeof(IGrainStore));
            services.Remove(descriptor);
            services.AddSingleton(sp => Outage.Wrap((IGrainStore)descriptor.ImplementationFactory!(sp), outage));
        });
        var org = await Org.CreateAsync(_host);
        var clientId = await org.EnrolAsync();
        var before = (await _host.Store.LoadAsync(new GrainId(org.OrgId, "ClientLoop", clientId), default))!.Version;

        outage.Down = true;
        var response = await org.Api.PostAsync($"/api/v1/clients/{clientId}/replies", Http.RawJson("""{"rating":4}"""));
        outage.Down = false;

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("5", response.Headers.RetryAfter?.ToString());
        Assert.Equal(before, (await _host.Store.LoadAsync(new GrainId(org.OrgId, "ClientLoop", clientId), default))!.Version);
        // And once the database is back, the same request goes through.
        Assert.Equal(HttpStatusCode.OK, (await org.Api.PostAsync($"/api/v1/clients/{clientId}/replies", Http.RawJson("""{"rating":4}"""))).StatusCode);
    }

    /// <summary>Forwards every store call, except that turns fail the way a lost connection does while <see cref="Down"/>.</summary>
    public class Outage : DispatchProxy
    {
        private IGrainStore _inner = null!;
        private Outage _switch = null!;
        public bool Down { get; set; }

        public static IGrainStore Wrap(IGrainStore inner, Outage outage)
        {
            var proxy = Create<IGrainStore, Outage>();
            var self = (Outage)(object)proxy;
            self._inner = inner;
            self._switch = outage;
            return proxy;
        }

        protected override object? Invoke(MethodInfo? method, object?[]? args)
        {
            if (_switch.Down && method!.Name == nameof(IGrainStore.RunTurnsAsync))
                throw new SqliteException("database is unreachable (simulated outage)", 10);
            try
            {
                return method!.Invoke(_inner, args);
            }
            catch (TargetInvocationException e) when (e.InnerException is not null)
            {
                throw e.InnerException;
            }
        }
    }
}
