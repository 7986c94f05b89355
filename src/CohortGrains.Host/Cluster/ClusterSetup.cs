using CohortGrains.Host.Infrastructure;
using CohortGrains.Runtime.Cluster;
using CohortGrains.Runtime.Storage;
using CohortGrains.Storage.Postgres;

namespace CohortGrains.Host.Cluster;

public static class ClusterSetup
{
    /// <summary>
    /// Membership and drain for a node: the heartbeat service, the drain state the workers and the readiness probe
    /// share, and the PostgreSQL connection string (ConnectionStrings:Postgres) for Storage:Provider=Postgres.
    /// </summary>
    public static IServiceCollection AddCohortGrainsCluster(this IServiceCollection services, IConfiguration config)
    {
        services.PostConfigure<StorageOptions>(o => o.WithConnectionStrings(config));
        services.Configure<MembershipOptions>(config.GetSection("Cluster"));
        services.PostConfigure<MembershipOptions>(o =>
        {
            // Shown to operators: the first URL the node listens on, unless Cluster:Address says better (a pod IP).
            if (string.IsNullOrWhiteSpace(o.Address))
                o.Address = (config["Urls"] ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? "";
        });
        services.AddSingleton<DrainState>();
        services.AddSingleton<IMembershipStore>(sp => sp.GetRequiredService<IGrainStore>() as IMembershipStore
            ?? throw new InvalidOperationException($"The configured store ({sp.GetRequiredService<IGrainStore>().GetType().Name}) keeps no membership table."));
        services.AddHostedService<MembershipService>();
        return services;
    }

    /// <summary>Takes ConnectionStrings:Postgres when Storage does not name a connection string itself.</summary>
    public static StorageOptions WithConnectionStrings(this StorageOptions options, IConfiguration config)
    {
        options.PostgresConnectionString ??= config.GetConnectionString("Postgres");
        return options;
    }

    public static IGrainStore CreatePostgresStore(StorageOptions options) =>
        new PostgresGrainStore(new PostgresStoreOptions
        {
            ConnectionString = string.IsNullOrWhiteSpace(options.PostgresConnectionString)
                ? throw new InvalidOperationException("Storage:Provider is Postgres but ConnectionStrings:Postgres is not set")
                : options.PostgresConnectionString,
        });
}
