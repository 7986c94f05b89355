using CohortGrains.Runtime.Cluster;
using CohortGrains.Runtime.Storage;

namespace CohortGrains.Host.Cluster;

public static class ClusterSetup
{
    /// <summary>Membership and drain for a node: the heartbeat service and the drain state the workers and the readiness probe share.</summary>
    public static IServiceCollection AddCohortGrainsCluster(this IServiceCollection services, IConfiguration config)
    {
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
}
