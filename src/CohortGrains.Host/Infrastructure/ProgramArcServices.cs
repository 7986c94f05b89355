using CohortGrains.Host.Digest;
using CohortGrains.Runtime.Channels;

namespace CohortGrains.Host.Infrastructure;

/// <summary>Services of the program arc's features (issue 9), registered with one call from ServiceSetup.</summary>
public static class ProgramArcServices
{
    /// <summary>The outbox channels every node needs to drain the outbox: the coach digest composer.</summary>
    public static IServiceCollection AddProgramArcChannels(this IServiceCollection services)
    {
        services.AddSingleton<IChannel, DigestComposer>();
        return services;
    }

    public static IServiceCollection ConfigureProgramArc(this IServiceCollection services, IConfiguration config)
    {
        services.Configure<Digest.LinkOptions>(config.GetSection("Links"));
        return services;
    }
}
