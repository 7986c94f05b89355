using CohortGrains.Channels;
using CohortGrains.Channels.Email;
using CohortGrains.Channels.Links;
using CohortGrains.Channels.Twilio;
using CohortGrains.Host.Infrastructure;
using Microsoft.Extensions.Options;

namespace CohortGrains.Host.Links;

/// <summary>
/// The service's public address (top-level PublicBaseUrl) and the "Links" section: one secret, one options class, and
/// the two signers that derive their keys from it (email links and client links).
/// </summary>
public static class LinksSetup
{
    /// <summary>Settings of earlier builds that are no longer read, and what replaced them.</summary>
    public static readonly IReadOnlyDictionary<string, string> Replaced = new Dictionary<string, string>
    {
        ["Twilio:PublicBaseUrl"] = PublicUrlOptions.Key,
        ["Smtp:PublicBaseUrl"] = PublicUrlOptions.Key,
        ["Links:BaseUrl"] = PublicUrlOptions.Key,
        ["Links:PortalUrl"] = $"{PublicUrlOptions.Key} (the portal is {{{PublicUrlOptions.Key}}}{ClientLinks.PortalPath})",
        ["Links:SigningKey"] = "Links:Secret",
    };

    public static IServiceCollection AddCohortGrainsLinks(this IServiceCollection services, IConfiguration config)
    {
        services.AddOptions<PublicUrlOptions>()
            .Configure(o => o.PublicBaseUrl = config[PublicUrlOptions.Key] ?? PublicUrlOptions.Default)
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<PublicUrlOptions>>(sp => new PublicUrlValidation(config,
            sp.GetRequiredService<IHostEnvironment>(), sp.GetRequiredService<IOptions<TwilioOptions>>(), sp.GetRequiredService<IOptions<SmtpOptions>>()));

        services.Configure<LinksOptions>(config.GetSection(LinksOptions.Section));
        services.AddSingleton<LinkSecret>();
        services.AddSingleton(sp =>
        {
            var (current, previous) = sp.GetRequiredService<LinkSecret>().KeysFor(SignedLinks.KeyPurpose);
            return new SignedLinks(current, previous);
        });
        services.AddSingleton<ClientLinks>();
        return services;
    }

    /// <summary>
    /// Stops the node at startup when PublicBaseUrl is not an http(s) URL, when a replaced setting is still configured,
    /// or, in Production, when Twilio or SMTP is configured while PublicBaseUrl is still a loopback address: the links
    /// in emails and Twilio's callbacks would point at a machine nobody else can reach.
    /// </summary>
    private sealed class PublicUrlValidation(IConfiguration config, IHostEnvironment environment,
        IOptions<TwilioOptions> twilio, IOptions<SmtpOptions> smtp) : IValidateOptions<PublicUrlOptions>
    {
        public ValidateOptionsResult Validate(string? name, PublicUrlOptions options)
        {
            var failures = new List<string>();
            foreach (var (old, replacement) in Replaced)
            {
                if (!string.IsNullOrWhiteSpace(config[old])) failures.Add($"{old} is no longer read: set {replacement} instead.");
            }
            if (!options.IsValid)
            {
                failures.Add($"{PublicUrlOptions.Key} must be an absolute http(s) URL, e.g. https://coach.example.com (it is '{options.PublicBaseUrl}').");
            }
            else if (environment.IsProduction() && options.IsLoopback)
            {
                var users = new List<string>();
                if (twilio.Value.IsConfigured) users.Add("Twilio is configured (status callbacks and webhook signatures use it)");
                if (smtp.Value.IsConfigured) users.Add("Smtp:Host is set (the one-tap and unsubscribe links in emails use it)");
                if (users.Count > 0)
                {
                    failures.Add($"{PublicUrlOptions.Key} is {options.BaseUrl}, a loopback address, but {string.Join(" and ", users)}: " +
                        $"set {PublicUrlOptions.Key} to the service's public address, e.g. https://coach.example.com.");
                }
            }
            return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
        }
    }
}
