using CohortGrains.Host.Infrastructure;
using CohortGrains.Host.Web;
using CohortGrains.Runtime;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace CohortGrains.Host.Pages;

/// <summary>
/// The landing page: a coach or org admin trades their API key for a session cookie carrying the same claims the API
/// gives that key. The key itself is never stored in the cookie (only its stored hash, to notice revocation).
/// </summary>
public sealed class IndexModel(GrainRuntime runtime, OperatorKey operatorKey, ClientLinks links, IOptions<WebUiOptions> options) : WebPageModel(runtime)
{
    [BindProperty]
    public string? ApiKey { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? ReturnUrl { get; set; }

    public string? Error { get; private set; }

    public bool SignedOut { get; private set; }

    public async Task<IActionResult> OnGetAsync(bool signedOut = false)
    {
        if ((await HttpContext.AuthenticateAsync(WebUi.CoachCookie)).Succeeded) return LocalRedirect(Destination());
        SignedOut = signedOut;
        return Page();
    }

    public async Task<IActionResult> OnPostAsync(CancellationToken ct)
    {
        var key = ApiKey?.Trim();
        ApiKey = null; // never echoed back into the page
        if (string.IsNullOrEmpty(key))
        {
            Error = "Paste your API key: it starts with cg_.";
            return Page();
        }
        if (key.StartsWith(ClientLinks.Prefix, StringComparison.Ordinal))
        {
            Error = "That is a client's portal link, not a coach key. Clients open their link directly; coaches sign in with their own key.";
            return Page();
        }
        var (who, _) = await ApiKeyAuthenticationHandler.ResolveAsync(Runtime.Store, operatorKey, links, key, Now, ct);
        if (who is null)
        {
            Error = "That key does not open anything: it may be mistyped, expired or revoked. Ask your org admin for a new one.";
            return Page();
        }
        if (who.Role is not (Roles.OrgAdmin or Roles.Coach) || who.OrgId is null)
        {
            Error = "The operator key runs the service and opens no org. Sign in with an org-admin or coach key.";
            return Page();
        }
        var expires = Now + options.Value.CoachSession;
        if (who.ExpiresAt is { } keyExpires && keyExpires < expires) expires = keyExpires;
        // Not persistent: the browser forgets the session when it closes; the ticket inside expires on the server's clock.
        await HttpContext.SignInAsync(WebUi.CoachCookie, WebUi.SessionPrincipal(who, WebUi.CoachCookie),
            new AuthenticationProperties { IsPersistent = false, ExpiresUtc = expires, AllowRefresh = true });
        return LocalRedirect(Destination());
    }

    private string Destination() => IsLocal(ReturnUrl) && ReturnUrl!.StartsWith("/coach", StringComparison.Ordinal) ? ReturnUrl : "/coach";
}
