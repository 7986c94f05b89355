using CohortGrains.Channels;
using CohortGrains.Channels.Email;
using CohortGrains.Channels.Twilio;
using CohortGrains.Host.Links;
using CohortGrains.Runtime.Channels;
using CohortGrains.Runtime.Grains;
using Microsoft.Extensions.Options;

namespace CohortGrains.Host.Infrastructure;

/// <summary>
/// The real channels: Twilio for SMS when Twilio:* is configured, SMTP for email when Smtp:Host is; otherwise the
/// recording channel stays (zero set-up development). Decided when the channel is first resolved, from options, so
/// every way of supplying configuration (files, environment, test hosts) behaves the same.
/// </summary>
public static class ChannelSetup
{
    public static IServiceCollection AddCohortGrainsChannels(this IServiceCollection services, IConfiguration config)
    {
        services.Configure<TwilioOptions>(config.GetSection(TwilioOptions.Section));
        services.AddOptions<SmtpOptions>().Bind(config.GetSection(SmtpOptions.Section))
            .Validate(o => !o.IsConfigured || !string.IsNullOrWhiteSpace(o.From), "Smtp:From is required when Smtp:Host is set")
            .ValidateOnStart();
        // The public address (PublicBaseUrl, validated against these channels) and the link signers.
        services.AddCohortGrainsLinks(config);

        services.AddHttpClient<TwilioSmsChannel>((sp, http) => http.Timeout = sp.GetRequiredService<IOptions<TwilioOptions>>().Value.Timeout)
            // The channel lives as long as the node: rotate pooled connections so DNS changes at Twilio are seen.
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
            .SetHandlerLifetime(Timeout.InfiniteTimeSpan);
        services.AddSingleton<SmtpEmailChannel>();

        // Registered after the recording defaults of AddCohortGrainsCore: the outbox uses the last channel of each name.
        services.AddSingleton<IChannel>(sp => sp.GetRequiredService<IOptions<TwilioOptions>>().Value.IsConfigured
            ? sp.GetRequiredService<TwilioSmsChannel>()
            : new RecordingChannel(ChannelNames.Sms));
        services.AddSingleton<IChannel>(sp => sp.GetRequiredService<IOptions<SmtpOptions>>().Value.IsConfigured
            ? sp.GetRequiredService<SmtpEmailChannel>()
            : new RecordingChannel(ChannelNames.Email));
        return services;
    }
}
