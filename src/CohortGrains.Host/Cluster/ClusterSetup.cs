using System.Net;
using System.Text.RegularExpressions;
using CohortGrains.Host.Infrastructure;
using CohortGrains.Runtime.Cluster;
using CohortGrains.Runtime.Storage;
using CohortGrains.Runtime.Workers;
using CohortGrains.Storage.Postgres;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace CohortGrains.Host.Cluster;

public static partial class ClusterSetup
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
            // Shown to operators, unless Cluster:Address says better (a pod IP).
            if (string.IsNullOrWhiteSpace(o.Address)) o.Address = DefaultAddress(config["Urls"]);
        });
        services.TryAddSingleton<DrainState>();
        services.AddSingleton<IMembershipStore>(sp => sp.GetRequiredService<IGrainStore>());
        services.AddHostedService<MembershipService>();
        return services;
    }

    /// <summary>
    /// The first URL the node listens on; a wildcard host (0.0.0.0, +, *, [::], as in containers) becomes the machine's
    /// host name, which is how the others on its network reach it.
    /// </summary>
    internal static string DefaultAddress(string? urls)
    {
        var first = (urls ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? "";
        return WildcardHost().Replace(first, m => m.Groups[1].Value + Dns.GetHostName(), 1);
    }

    [GeneratedRegex(@"^(\w+://)(?:0\.0\.0\.0|\+|\*|\[::\])(?=[:/]|$)")]
    private static partial Regex WildcardHost();

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
