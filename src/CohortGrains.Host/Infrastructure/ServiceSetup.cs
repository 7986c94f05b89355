using System.Text.Json.Serialization;
using CohortGrains.Channels;
using CohortGrains.Host.Cluster;
using CohortGrains.Host.Observability;
using CohortGrains.Host.Web;
using CohortGrains.Runtime;
using CohortGrains.Runtime.Channels;
using CohortGrains.Runtime.Grains;
using CohortGrains.Runtime.Storage;
using CohortGrains.Runtime.Time;
using CohortGrains.Runtime.Workers;
using CohortGrains.Storage.Sqlite;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;

namespace CohortGrains.Host.Infrastructure;

public static class ServiceSetup
{
    /// <summary>Everything a node needs: store, clock, grain runtime, workers, channels, auth, problem details.</summary>
    public static WebApplicationBuilder AddCohortGrains(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        var config = builder.Configuration;
        services.Configure<StorageOptions>(config.GetSection("Storage"));
        services.Configure<ClockOptions>(config.GetSection("Clock"));
        services.Configure<WorkerOptions>(config.GetSection("Workers"));
        services.Configure<OperatorOptions>(config.GetSection("Operator"));
        services.ConfigureProgramArc(config);

        services.AddCohortGrainsCore();
        services.AddCohortGrainsChannels(config);
        services.AddHostedService<StoreMigrator>();
        services.AddHostedService<RuntimeWorker>();
        services.AddCohortGrainsCluster(config);

        services.AddProblemDetails();
        services.AddExceptionHandler<BadRequestExceptionHandler>();
        services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.Converters.Add(new JsonStringEnumConverter(System.Text.Json.JsonNamingPolicy.CamelCase));
            o.SerializerOptions.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
        });
        services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        services.AddAuthorizationBuilder()
            .AddPolicy(Policies.Operator, p => p.RequireRole(Roles.Operator))
            .AddPolicy(Policies.OrgMember, p => p.RequireRole(Roles.OrgAdmin, Roles.Coach).RequireClaim(ClaimNames.Org))
            // An endpoint that forgets to say who may call it is closed, not open.
            .SetFallbackPolicy(new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build());
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = 1024 * 1024);
        builder.AddOperations();
        builder.AddSecurity();
        builder.AddWebUi();
        return builder;
    }

    /// <summary>The parts shared by the web host and the CLI verbs (demo, migrate).</summary>
    public static IServiceCollection AddCohortGrainsCore(this IServiceCollection services)
    {
        services.AddSingleton<TimeProvider>(sp =>
        {
            var speed = sp.GetRequiredService<IOptions<ClockOptions>>().Value.Speed;
            return speed == 1 ? TimeProvider.System : new AcceleratedClock(TimeProvider.System, speed);
        });
        services.AddSingleton<IGrainStore>(sp => CreateStore(sp.GetRequiredService<IOptions<StorageOptions>>().Value));
        services.AddSingleton(_ => GrainTypeRegistry.Default());
        services.AddSingleton<RuntimeMetrics>();
        services.AddSingleton<NodeIdentity>();
        services.AddSingleton<GrainRuntime>();
        services.AddSingleton<TimerProcessor>();
        services.AddSingleton<OutboxProcessor>();
        services.AddSingleton<WorkPump>();
        services.AddSingleton<IOutboxPolicy, ClientLoopOutboxPolicy>();
        services.AddSingleton<OperatorKey>();
        // Providers (Twilio, SMTP) replace these when configured; until then touches are recorded and visible in the API.
        services.AddSingleton<IChannel>(new RecordingChannel(ChannelNames.InApp));
        services.AddSingleton<IChannel>(new RecordingChannel(ChannelNames.Sms));
        services.AddSingleton<IChannel>(new RecordingChannel(ChannelNames.Email));
        services.AddProgramArcChannels();
        return services;
    }

    private static IGrainStore CreateStore(StorageOptions options) => options.Provider.ToLowerInvariant() switch
    {
        "sqlite" => new SqliteGrainStore(new SqliteStoreOptions { Path = SqlitePath(options) }),
        "postgres" => ClusterSetup.CreatePostgresStore(options),
        _ => throw new InvalidOperationException($"Storage:Provider '{options.Provider}' is not known (use Sqlite or Postgres)"),
    };

    private static string SqlitePath(StorageOptions options)
    {
        Directory.CreateDirectory(options.DataDirectory);
        return Path.Combine(options.DataDirectory, options.SqliteFile);
    }
}

/// <summary>Applies migrations before the workers start, when configured to.</summary>
public sealed class StoreMigrator(IGrainStore store, IOptions<StorageOptions> options) : IHostedService
{
    public async Task StartAsync(CancellationToken ct)
    {
        if (options.Value.MigrateOnStart) await store.MigrateAsync(ct);
    }

    public Task StopAsync(CancellationToken ct) => Task.CompletedTask;
}
