using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.CookiePolicy;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace CohortGrains.Host.Infrastructure;

/// <summary>Rate limits: token buckets per credential and per client IP; a request must pass both.</summary>
public sealed class RateLimitingOptions
{
    /// <summary>Off for load tests and the in-process test host; on everywhere else.</summary>
    public bool Enabled { get; set; } = true;
    public TokenBucket PerKey { get; set; } = new() { PermitLimit = 200, TokensPerPeriod = 20, Period = TimeSpan.FromSeconds(1) };
    public TokenBucket PerIp { get; set; } = new() { PermitLimit = 400, TokensPerPeriod = 40, Period = TimeSpan.FromSeconds(1) };

    public sealed class TokenBucket
    {
        /// <summary>The burst: requests allowed at once before refills matter.</summary>
        public int PermitLimit { get; set; }
        public int TokensPerPeriod { get; set; }
        public TimeSpan Period { get; set; }
    }
}

public sealed class RequestLimitsOptions
{
    /// <summary>Largest request body, unless an endpoint says otherwise (bulk enrolment).</summary>
    public long MaxBodyBytes { get; set; } = 1024 * 1024;
}

public sealed class WebSecurityOptions
{
    /// <summary>No inline script or style: the UI ships its scripts as files. frame-ancestors 'none' forbids framing (clickjacking).</summary>
    public string ContentSecurityPolicy { get; set; } =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; " +
        "media-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    /// <summary>The microphone stays available to our own pages (coach voice notes); everything else is off.</summary>
    public string PermissionsPolicy { get; set; } = "camera=(), microphone=(self), geolocation=(), payment=(), usb=(), serial=(), bluetooth=()";

    /// <summary>Cookies carry Secure. Turn off only for plain-HTTP local development: browsers drop Secure cookies on http://.</summary>
    public bool RequireSecureCookies { get; set; } = true;
}

/// <summary>An endpoint's own body limit (bulk enrolment needs more than the 1 MB default).</summary>
public sealed record BodySizeLimit(long? MaxRequestBodySize) : IRequestSizeLimitMetadata;

public static class Security
{
    public const string AntiforgeryHeader = "X-CSRF-TOKEN";
    public const string AntiforgeryCookie = "cg.antiforgery";

    /// <summary>Options, the extra authorization policies, rate limiting, antiforgery and cookie rules.</summary>
    public static WebApplicationBuilder AddSecurity(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        var config = builder.Configuration;
        services.Configure<RateLimitingOptions>(config.GetSection("RateLimiting"));
        services.Configure<RequestLimitsOptions>(config.GetSection("Limits"));
        services.Configure<WebSecurityOptions>(config.GetSection("Web"));

        // Answers are JSON-escaped for HTML too (<, >, &, ' and " as \u escapes): a name like "<script>" stays inert
        // even where a page embeds our JSON. ASP.NET Core's default here is the relaxed encoder, which leaves them raw.
        services.ConfigureHttpJsonOptions(o => o.SerializerOptions.Encoder = JavaScriptEncoder.Default);

        services.Configure<AuthorizationOptions>(o =>
        {
            o.AddPolicy(Policies.OrgAdmin, p => p.RequireRole(Roles.OrgAdmin).RequireClaim(ClaimNames.Org));
            o.AddPolicy(Policies.OrgMemberOrClient, p => p.RequireRole(Roles.OrgAdmin, Roles.Coach, Roles.Client).RequireClaim(ClaimNames.Org));
        });

        var limits = config.GetSection("Limits").Get<RequestLimitsOptions>() ?? new RequestLimitsOptions();
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = limits.MaxBodyBytes);

        services.AddRateLimiter(_ => { });
        services.AddOptions<RateLimiterOptions>().Configure<IOptions<RateLimitingOptions>>((o, settings) =>
        {
            o.GlobalLimiter = PartitionedRateLimiter.CreateChained(
                PartitionedRateLimiter.Create<HttpContext, string>(http => Partition(http, Credential(http), settings.Value.PerKey)),
                PartitionedRateLimiter.Create<HttpContext, string>(http => Partition(http, http.Connection.RemoteIpAddress?.ToString() ?? "unknown", settings.Value.PerIp)));
            o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            o.OnRejected = OnRejectedAsync;
        });

        // The server-rendered UI posts forms: antiforgery tokens in a same-site, HTTP-only cookie plus a form field or header.
        var web = config.GetSection("Web").Get<WebSecurityOptions>() ?? new WebSecurityOptions();
        var secure = web.RequireSecureCookies ? CookieSecurePolicy.Always : CookieSecurePolicy.SameAsRequest;
        services.AddAntiforgery(o =>
        {
            o.Cookie.Name = AntiforgeryCookie;
            o.Cookie.HttpOnly = true;
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.SecurePolicy = secure;
            o.HeaderName = AntiforgeryHeader;
            // Our headers middleware sends X-Frame-Options: DENY on every response already.
            o.SuppressXFrameOptionsHeader = true;
        });
        services.Configure<CookiePolicyOptions>(o =>
        {
            o.MinimumSameSitePolicy = SameSiteMode.Lax;
            o.HttpOnly = HttpOnlyPolicy.Always;
            o.Secure = secure;
        });
        return builder;
    }

    /// <summary>Security headers on every response, body limits, cookie rules and rate limits. Runs before authentication.</summary>
    public static WebApplication UseSecurity(this WebApplication app)
    {
        app.Services.GetRequiredService<ClientLinks>(); // generate (and log) a missing link secret at start-up, not on first use
        var web = app.Services.GetRequiredService<IOptions<WebSecurityOptions>>().Value;
        app.Use((http, next) =>
        {
            http.Response.OnStarting(() =>
            {
                ApplyHeaders(http, web);
                return Task.CompletedTask;
            });
            return next(http);
        });
        var limits = app.Services.GetRequiredService<IOptions<RequestLimitsOptions>>().Value;
        app.Use((http, next) => EnforceBodyLimitAsync(http, next, limits.MaxBodyBytes));
        app.UseCookiePolicy();
        if (app.Services.GetRequiredService<IOptions<RateLimitingOptions>>().Value.Enabled) app.UseRateLimiter();
        return app;
    }

    private static void ApplyHeaders(HttpContext http, WebSecurityOptions web)
    {
        var headers = http.Response.Headers;
        // An endpoint that serves its own page may set a policy of its own (the printable report: nothing but its one
        // hashed style block). It is ours and written for that page, so it is kept rather than replaced by the site-wide one.
        if (!headers.ContainsKey(Microsoft.Net.Http.Headers.HeaderNames.ContentSecurityPolicy)) headers.ContentSecurityPolicy = web.ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        // Client links carry their token in the URL: never hand it to another site.
        headers["Referrer-Policy"] = "no-referrer";
        headers["Permissions-Policy"] = web.PermissionsPolicy;
        headers["Cross-Origin-Opener-Policy"] = "same-origin";
        headers["Cross-Origin-Resource-Policy"] = "same-origin";
        if (http.Request.IsHttps) headers.StrictTransportSecurity = "max-age=31536000; includeSubDomains";
        // API answers hold personal data: no browser or proxy keeps a copy.
        if (http.Request.Path.StartsWithSegments("/api") && !headers.ContainsKey("Cache-Control")) headers.CacheControl = "no-store";
    }

    /// <summary>
    /// The endpoint's limit (or the default) applies to the body: a declared Content-Length over it is refused at once
    /// with a 413 problem; Kestrel enforces the same limit on bodies without one while they are read.
    /// </summary>
    private static async Task EnforceBodyLimitAsync(HttpContext http, RequestDelegate next, long defaultLimit)
    {
        var limit = http.GetEndpoint()?.Metadata.GetMetadata<IRequestSizeLimitMetadata>() is { } m ? m.MaxRequestBodySize : defaultLimit;
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature) feature.MaxRequestBodySize = limit;
        if (limit is { } max && http.Request.ContentLength > max)
        {
            http.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
            await http.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
            {
                HttpContext = http,
                ProblemDetails = new ProblemDetails
                {
                    Status = StatusCodes.Status413PayloadTooLarge,
                    Title = "Request body too large",
                    Detail = $"This endpoint accepts at most {max} bytes.",
                },
            });
            return;
        }
        await next(http);
    }

    /// <summary>The presented credential, hashed: partitions never hold secrets, and a guessed key is limited like a real one.</summary>
    private static string? Credential(HttpContext http)
    {
        var value = http.Request.Headers.Authorization.ToString();
        if (value.Length == 0) value = http.Request.Headers["X-Api-Key"].ToString();
        return value.Length == 0 ? null : Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(value)), 0, 16);
    }

    private static RateLimitPartition<string> Partition(HttpContext http, string? key, RateLimitingOptions.TokenBucket bucket)
    {
        // Health probes come often and from one address and must never be refused. Provider webhooks come in bursts
        // from a few provider addresses during a launch, carry a signature, and are not always retried when refused.
        if (key is null || http.Request.Path.StartsWithSegments("/health") || http.Request.Path.StartsWithSegments("/webhooks"))
            return RateLimitPartition.GetNoLimiter("");
        return RateLimitPartition.GetTokenBucketLimiter(key, _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = Math.Max(1, bucket.PermitLimit),
            TokensPerPeriod = Math.Max(1, bucket.TokensPerPeriod),
            ReplenishmentPeriod = bucket.Period > TimeSpan.Zero ? bucket.Period : TimeSpan.FromSeconds(1),
            QueueLimit = 0,
            AutoReplenishment = true,
        });
    }

    private static async ValueTask OnRejectedAsync(OnRejectedContext context, CancellationToken ct)
    {
        var http = context.HttpContext;
        var seconds = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter)
            ? Math.Max(1, (long)Math.Ceiling(retryAfter.TotalSeconds))
            : 1;
        http.Response.StatusCode = StatusCodes.Status429TooManyRequests;
        http.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        await http.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
        {
            HttpContext = http,
            ProblemDetails = new ProblemDetails
            {
                Status = StatusCodes.Status429TooManyRequests,
                Title = "Too many requests",
                Detail = $"Rate limit reached; retry after {seconds} s.",
            },
        });
    }
}
