using CohortGrains.Host.Infrastructure;
using CohortGrains.Host.Web;
using CohortGrains.Runtime;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace CohortGrains.Host.Pages.Portal;

/// <summary>
/// Where a client's magic link lands (/portal?token=cgl_…): the token is checked exactly as the API checks it, traded
/// for a session cookie that ends with the link (or sooner), and the browser is sent on to a clean URL so the token
/// leaves the address bar and the history. No password anywhere.
/// </summary>
public sealed class StartModel(GrainRuntime runtime, OperatorKey operatorKey, ClientLinks links, IOptions<WebUiOptions> options) : WebPageModel(runtime)
{
    /// <summary>"invalid" (a bad, expired or revoked link), "signed-out", or null: no link at all.</summary>
    public string? State { get; private set; }

    public async Task<IActionResult> OnGetAsync(string? token, bool signedOut, CancellationToken ct)
    {
        // Whatever happens next, the token in this URL must not be kept by a browser cache or proxy.
        Response.Headers.CacheControl = "no-store";
        if (!string.IsNullOrEmpty(token))
        {
            var (who, _) = await ApiKeyAuthenticationHandler.ResolveAsync(Runtime.Store, operatorKey, links, token.Trim(), Now, ct);
            // Only a client's link opens the portal: a staff key pasted into a URL would sit in the browser's history.
            if (who is { Role: Roles.Client, ExpiresAt: { } linkExpires })
            {
                var expires = Now + options.Value.ClientSession;
                if (linkExpires < expires) expires = linkExpires;
                await HttpContext.SignInAsync(WebUi.ClientCookie, WebUi.SessionPrincipal(who, WebUi.ClientCookie),
                    new AuthenticationProperties { IsPersistent = false, ExpiresUtc = expires, AllowRefresh = false });
                return LocalRedirect("/portal/home");
            }
            State = "invalid";
            return Page();
        }
        if ((await HttpContext.AuthenticateAsync(WebUi.ClientCookie)).Succeeded) return LocalRedirect("/portal/home");
        State = signedOut ? "signed-out" : null;
        return Page();
    }
}
