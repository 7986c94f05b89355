using CohortGrains.Domain.ClientLoops;
using CohortGrains.Domain.Common;
using CohortGrains.Domain.Programs;
using CohortGrains.Host.CheckIns;
using CohortGrains.Host.Clients;
using CohortGrains.Host.Infrastructure;
using CohortGrains.Host.Portal;
using CohortGrains.Host.Web;
using CohortGrains.Runtime;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace CohortGrains.Host.Pages.Portal;

/// <summary>
/// The client's portal: today's check-in (one tap, 1–5, and what is in the way), their actions with due dates, their
/// reflections, their progress, their coach's communication norms and their notification settings. Everything goes
/// to the client's own loop through the API's lookup and access rules, exactly as a reply by link or SMS would.
/// </summary>
public sealed class HomeModel(GrainRuntime runtime) : WebPageModel(runtime)
{
    public ClientLoopState? Client { get; private set; }
    public PortalView? View { get; private set; }

    /// <summary>Staff who open the portal (with their key) see what it is, not a client's data.</summary>
    public bool IsStaff { get; private set; }

    [BindProperty(SupportsGet = true)]
    public string? Done { get; set; }

    /// <summary>The form that came back with a message ("checkin", "reflection", "settings") and the messages.</summary>
    public string? FailedForm { get; private set; }
    public FieldErrors Errors { get; private set; } = new();
    public string? TypedText { get; private set; }

    public async Task<IActionResult> OnGetAsync(CancellationToken ct) => await LoadAsync(ct) ? Page() : Missing("portal");

    public async Task<IActionResult> OnPostCheckInAsync(int? rating, string? obstacle, string? promptId, CancellationToken ct)
    {
        if (!await LoadAsync(ct) || IsStaff) return Missing("portal");
        var v = new Validation();
        // The API's reading of a reply; the words after the rating are what is in the way.
        var reply = CheckInsApi.Parse(v, rating, obstacle, promptId, "portal");
        if (!v.IsValid) return Invalid("checkin", v, obstacle);
        var call = await ClientsApi.CallAsync(Runtime, HttpContext, Client!.ClientId, reply!, ct);
        if (call is GrainCall<ClientLoopState>.Rejected r) return Rejected("checkin", "rating", r, obstacle);
        if (call is not GrainCall<ClientLoopState>.Ok ok) return Missing("portal");
        var route = ok.State.Replies[^1].Route;
        return LocalRedirect("/portal/home?done=" + (route == ReplyRoute.Stuck ? "checkin-stuck" : "checkin"));
    }

    public async Task<IActionResult> OnPostCompleteAsync(string? itemId, CancellationToken ct)
    {
        if (!await LoadAsync(ct) || IsStaff) return Missing("portal");
        if (!Ids.LooksValid(itemId)) return Missing("action");
        var call = await ClientsApi.CallAsync(Runtime, HttpContext, Client!.ClientId, new ActionItemCompleted(itemId!), ct);
        return call is GrainCall<ClientLoopState>.Ok ? LocalRedirect("/portal/home?done=action") : Missing("action");
    }

    public async Task<IActionResult> OnPostReflectAsync(string? text, int? session, CancellationToken ct)
    {
        if (!await LoadAsync(ct) || IsStaff) return Missing("portal");
        var v = new Validation();
        var words = v.Text(text, "text", ProgramArc.MaxReflectionLength);
        if (session is < 1) v.Add("session", "must be a session number (1 or more)");
        if (!v.IsValid) return Invalid("reflection", v, text);
        var call = await ClientsApi.CallAsync(Runtime, HttpContext, Client!.ClientId, new ReflectionSubmitted(words!, session, null, Channel.InApp), ct);
        if (call is GrainCall<ClientLoopState>.Rejected r) return Rejected("reflection", "text", r, text);
        return LocalRedirect("/portal/home?done=reflection#reflections");
    }

    public async Task<IActionResult> OnPostSettingsAsync(bool sms, bool email, string? quietStart, string? quietEnd, int? preferredHour, CancellationToken ct)
    {
        if (!await LoadAsync(ct) || IsStaff) return Missing("portal");
        var s = Client!;
        var v = new Validation();
        var start = Parse.Time(v, quietStart, "quietStart");
        var end = Parse.Time(v, quietEnd, "quietEnd");
        if (preferredHour is null or < 0 or > 23) v.Add("preferredHour", "must be an hour of the day");
        if (!v.IsValid) return Invalid("settings", v, null);

        // Each change is its own message to the loop (and its own audit entry); consent changes keep their history.
        var messages = new List<ClientLoopMessage>();
        var smsOn = s.Consent.SmsOptIn && !s.Consent.SmsOptedOut;
        if (s.Profile.Phone is not null && sms != smsOn)
            messages.Add(sms ? new ChannelOptedIn(Channel.Sms, "portal settings") : new ChannelOptedOut(Channel.Sms, "portal settings"));
        if (s.Profile.Email is not null && email == s.Consent.EmailUnsubscribed)
            messages.Add(email ? new ChannelOptedIn(Channel.Email, "portal settings") : new ChannelOptedOut(Channel.Email, "portal settings"));
        var quiet = new QuietHours(start!.Value, end!.Value);
        if (quiet != s.QuietHours || preferredHour != s.Profile.PreferredHour)
            messages.Add(new ContactPreferencesChanged(quiet == s.QuietHours ? null : quiet, preferredHour));
        foreach (var message in messages)
        {
            var call = await ClientsApi.CallAsync(Runtime, HttpContext, s.ClientId, message, ct);
            if (call is GrainCall<ClientLoopState>.Rejected r) return Rejected("settings", message is ContactPreferencesChanged ? "quietHours" : "channels", r, null);
        }
        return LocalRedirect("/portal/home?done=settings#settings");
    }

    /// <summary>Ends the portal session on this device; the link itself keeps working until it expires or is revoked.</summary>
    public async Task<IActionResult> OnPostSignOutAsync()
    {
        await HttpContext.SignOutAsync(WebUi.ClientCookie);
        return LocalRedirect("/portal?signedOut=true");
    }

    public string? DoneText => Done switch
    {
        "checkin" => "Thanks, logged. Keep going!",
        "checkin-stuck" => $"Thanks for saying so. {View?.Coach.Name ?? "Your coach"} has been told and will help you get unstuck.",
        "action" => "Nice work: marked as done.",
        "reflection" => "Your reflection is saved. Your coach reads it before your next session.",
        "settings" => "Your settings are saved.",
        _ => null,
    };

    /// <summary>The slot the coach offered for the latest open escalation, once the coach's grain has reserved it.</summary>
    public DateTimeOffset? OfferedSlot =>
        Client?.Escalations.LastOrDefault(e => e.HandledAt is null && e.SlotOffered is { } slot && slot > Now)?.SlotOffered;

    /// <summary>The open check-in prompt as it was sent, so the client answers the question they were asked.</summary>
    public TouchRecord? OpenPrompt => Client?.OpenPromptId is { } id ? Client.Touches.LastOrDefault(t => t.Id == id) : null;

    private async Task<bool> LoadAsync(CancellationToken ct)
    {
        if (Access.ClientOf(User) is not { } clientId)
        {
            IsStaff = true;
            return true;
        }
        // The API's lookup: a link opens only its own client, and an erased client is gone.
        Client = await ClientsApi.FindAsync(Runtime, HttpContext, clientId, ct);
        if (Client is null) return false;
        View = await PortalApi.ViewAsync(Runtime, OrgId, Client, ct);
        return true;
    }

    private PageResult Invalid(string form, Validation v, string? typed)
    {
        FailedForm = form;
        Errors = FieldErrors.From(v.Errors());
        TypedText = typed;
        return Page();
    }

    private PageResult Rejected(string form, string field, GrainCall<ClientLoopState>.Rejected r, string? typed)
    {
        var errors = new FieldErrors();
        errors.Add(field, r.Detail);
        FailedForm = form;
        Errors = errors;
        TypedText = typed;
        return Page();
    }
}
