using System.Security.Claims;
using CohortGrains.Host.Infrastructure;
using CohortGrains.Runtime.Storage;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.Extensions.Options;

namespace CohortGrains.Host.Web;

public sealed class WebUiOptions
{
    /// <summary>
    /// Where the keys that encrypt session and antiforgery cookies live. Default: &lt;DataDirectory&gt;/web-keys. Every
    /// node of a cluster must share them (a shared volume), or a cookie made on one node is refused on the next.
    /// </summary>
    public string? KeysDirectory { get; set; }

    /// <summary>How long a coach stays signed in without using the pages (each visit renews it).</summary>
    public TimeSpan CoachSession { get; set; } = TimeSpan.FromHours(12);

    /// <summary>How long a client's portal session lasts at most; never beyond the link it came from.</summary>
    public TimeSpan ClientSession { get; set; } = TimeSpan.FromDays(7);
}

/// <summary>
/// The server-rendered web UI: Razor Pages for coaches (/coach…) and clients (/portal…), static files from wwwroot.
/// A coach trades an API key for a cookie, a client their magic link; either cookie carries exactly the claims the
/// API-key handler gives that key or link, so every page applies the API's <see cref="Access"/> rules unchanged.
/// </summary>
public static class WebUi
{
    public const string CoachCookie = "cg.coach";
    public const string ClientCookie = "cg.client";
    /// <summary>Picks the API key when the request carries one, else the coach's cookie.</summary>
    public const string StaffScheme = "web-staff";
    /// <summary>Picks the API key (or link) when the request carries one, else the client's cookie.</summary>
    public const string PortalScheme = "web-portal";
    public const string StaffPolicy = "web-staff";
    /// <summary>Clients see their portal; staff who open it see what it is for.</summary>
    public const string PortalPolicy = "web-portal";
    /// <summary>The stored hash of the key or link a session was made from (never the key): re-checked on every request.</summary>
    public const string KeyHashClaim = "cg:keyhash";

    public static WebApplicationBuilder AddWebUi(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.Configure<WebUiOptions>(builder.Configuration.GetSection("Web"));
        services.AddRazorPages(o =>
        {
            o.Conventions.AuthorizeFolder("/Coach", StaffPolicy);
            o.Conventions.AuthorizeFolder("/Portal", PortalPolicy);
            // The sign-in page and the magic-link exchange: the key or the signed token is the permission.
            o.Conventions.AllowAnonymousToPage("/Index");
            o.Conventions.AllowAnonymousToPage("/Portal/Start");
        });
        services.AddSingleton<WebForms>();

        services.AddAuthentication()
            .AddCookie(CoachCookie, o => Cookie(o, CoachCookie, "/", "/"))
            .AddCookie(ClientCookie, o => Cookie(o, ClientCookie, "/portal", "/portal"))
            .AddPolicyScheme(StaffScheme, null, o => o.ForwardDefaultSelector = http => CarriesKey(http) ? ApiKeyAuthenticationHandler.SchemeName : CoachCookie)
            .AddPolicyScheme(PortalScheme, null, o => o.ForwardDefaultSelector = http => CarriesKey(http) ? ApiKeyAuthenticationHandler.SchemeName : ClientCookie);
        // Cookie lifetimes follow the node's clock (a fake one in tests, an accelerated one in demos), and Secure follows
        // Web:RequireSecureCookies like every other cookie of the service.
        foreach (var scheme in new[] { CoachCookie, ClientCookie })
        {
            services.AddOptions<CookieAuthenticationOptions>(scheme).Configure<TimeProvider, IOptions<WebSecurityOptions>>((o, clock, web) =>
            {
                o.TimeProvider = clock;
                o.Cookie.SecurePolicy = web.Value.RequireSecureCookies ? CookieSecurePolicy.Always : CookieSecurePolicy.SameAsRequest;
            });
        }
        services.Configure<AuthorizationOptions>(o =>
        {
            o.AddPolicy(StaffPolicy, p => p.AddAuthenticationSchemes(StaffScheme).RequireRole(Roles.OrgAdmin, Roles.Coach).RequireClaim(ClaimNames.Org));
            o.AddPolicy(PortalPolicy, p => p.AddAuthenticationSchemes(PortalScheme).RequireRole(Roles.OrgAdmin, Roles.Coach, Roles.Client).RequireClaim(ClaimNames.Org));
        });

        // Session and antiforgery cookies are encrypted with these keys: kept beside the data, so a restart keeps everyone signed in.
        services.AddDataProtection().SetApplicationName("CohortGrains");
        services.AddOptions<KeyManagementOptions>().Configure<IOptions<WebUiOptions>, IOptions<StorageOptions>, ILoggerFactory>((o, web, storage, logs) =>
        {
            var directory = web.Value.KeysDirectory is { Length: > 0 } configured ? configured : Path.Combine(storage.Value.DataDirectory, "web-keys");
            // Readable by the service's user only, like the operator key and the link secret beside it.
            var keys = OperatingSystem.IsWindows()
                ? Directory.CreateDirectory(directory)
                : Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            o.XmlRepository = new FileSystemXmlRepository(keys, logs);
        });
        return builder;
    }

    /// <summary>Static files (one stylesheet, one small script) before authentication: they hold nothing private.</summary>
    public static WebApplication UseWebUi(this WebApplication app)
    {
        app.UseStaticFiles(new StaticFileOptions
        {
            OnPrepareResponse = ctx =>
            {
                // Pages link them with ?v=<content hash>, so a versioned URL never changes content: cache it for good.
                ctx.Context.Response.Headers.CacheControl = ctx.Context.Request.Query.ContainsKey("v") ? "public, max-age=31536000, immutable" : "no-cache";
            },
        });
        return app;
    }

    public static WebApplication MapWebUi(this WebApplication app)
    {
        app.MapRazorPages();
        return app;
    }

    /// <summary>A browser navigating (it asks for HTML) is sent to a page; anything else gets the status code.</summary>
    public static bool WantsHtml(HttpRequest request) => request.Headers.Accept.ToString().Contains("text/html", StringComparison.OrdinalIgnoreCase);

    private static bool CarriesKey(HttpContext http) =>
        http.Request.Headers.Authorization.Count > 0 || http.Request.Headers.ContainsKey("X-Api-Key");

    private static void Cookie(CookieAuthenticationOptions o, string name, string path, string loginPath)
    {
        o.Cookie.Name = name;
        o.Cookie.Path = path;
        o.Cookie.HttpOnly = true;
        // Lax, not Strict: a coach following the digest's roster link from their mail client arrives signed in.
        // Every form still carries an antiforgery token (its cookie is Strict).
        o.Cookie.SameSite = SameSiteMode.Lax;
        o.LoginPath = loginPath;
        o.ReturnUrlParameter = "returnUrl";
        o.SlidingExpiration = name == CoachCookie;
        o.Events = new CookieAuthenticationEvents
        {
            OnRedirectToLogin = ctx =>
            {
                if (WantsHtml(ctx.Request)) ctx.Response.Redirect(ctx.RedirectUri);
                else ctx.Response.StatusCode = StatusCodes.Status401Unauthorized;
                return Task.CompletedTask;
            },
            OnRedirectToAccessDenied = ctx =>
            {
                ctx.Response.StatusCode = StatusCodes.Status403Forbidden;
                return Task.CompletedTask;
            },
            OnValidatePrincipal = ValidateAsync,
        };
    }

    /// <summary>
    /// A session lasts only as long as the key or link it was made from: the same store checks as the API-key handler,
    /// on every request, so revoking a key or a client's links signs their sessions out at once.
    /// </summary>
    private static async Task ValidateAsync(CookieValidatePrincipalContext ctx)
    {
        var user = ctx.Principal;
        var http = ctx.HttpContext;
        var credential = user is null ? null : CredentialOf(user);
        var now = http.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow();
        if (credential is not null
            && await ApiKeyAuthenticationHandler.StillValidAsync(http.RequestServices.GetRequiredService<IGrainStore>(), credential, now, http.RequestAborted))
            return;
        ctx.RejectPrincipal();
        await http.SignOutAsync(ctx.Scheme.Name);
    }

    /// <summary>The cookie's principal: the API-key handler's claims for this credential, plus the stored hash to re-check it.</summary>
    public static ClaimsPrincipal SessionPrincipal(ResolvedCredential credential, string scheme) =>
        new(new ClaimsIdentity(credential.Claims().Append(new Claim(KeyHashClaim, credential.KeyHash!)), scheme, ClaimTypes.Name, ClaimTypes.Role));

    private static ResolvedCredential? CredentialOf(ClaimsPrincipal user) =>
        user.FindFirstValue(ClaimTypes.Role) is { } role && user.FindFirstValue(ClaimNames.KeyId) is { } keyId && user.FindFirstValue(KeyHashClaim) is { } hash
            ? new ResolvedCredential(role, user.FindFirstValue(ClaimNames.Org), user.FindFirstValue(ClaimNames.Subject), keyId, hash, null)
            : null;
}

/// <summary>
/// Whether this request may be given forms. With secure cookies required (the default), antiforgery refuses to issue
/// tokens over plain HTTP; pages then render read-only with a notice instead of failing, which is what a node behind a
/// TLS proxy without forwarded headers would otherwise do on every page.
/// </summary>
public sealed class WebForms(IOptions<WebSecurityOptions> web)
{
    public bool Allowed(HttpContext http) => http.Request.IsHttps || !web.Value.RequireSecureCookies;
}
