using CohortGrains.Host.Digest;
using CohortGrains.Host.Integrations;
using CohortGrains.Runtime.Channels;
using Microsoft.Extensions.Options;

namespace CohortGrains.Host.Infrastructure;

/// <summary>Services of the program arc's features (issue 9), registered with one call from ServiceSetup.</summary>
public static class ProgramArcServices
{
    /// <summary>The outbox channels every node needs to drain the outbox: the coach digest composer and webhook deliveries.</summary>
    public static IServiceCollection AddProgramArcChannels(this IServiceCollection services)
    {
        services.AddSingleton<IChannel, DigestComposer>();
        services.AddHttpClient(WebhookChannel.HttpClientName)
            .ConfigurePrimaryHttpMessageHandler(sp => WebhookChannel.CreateHandler(sp.GetRequiredService<IOptions<WebhookOptions>>().Value))
            .ConfigureHttpClient((sp, client) => client.Timeout = TimeSpan.FromSeconds(Math.Clamp(sp.GetRequiredService<IOptions<WebhookOptions>>().Value.TimeoutSeconds, 1, 60)));
        services.AddSingleton<IChannel, WebhookChannel>();
        return services;
    }

    public static IServiceCollection ConfigureProgramArc(this IServiceCollection services, IConfiguration config)
    {
        services.Configure<WebhookOptions>(config.GetSection("Webhooks"));
        return services;
    }
}
