using CohortGrains.Domain.ClientLoops;
using CohortGrains.Domain.Coaches;
using CohortGrains.Domain.Common;
using CohortGrains.Host.Clients;
using CohortGrains.Host.Coaches;
using CohortGrains.Host.Infrastructure;
using CohortGrains.Host.Messages;
using CohortGrains.Host.Web;
using CohortGrains.Runtime;
using CohortGrains.Runtime.Storage;
using Microsoft.AspNetCore.Mvc;

namespace CohortGrains.Host.Pages.Coach;

/// <summary>
/// The alert inbox: every escalation with the slot the coach's grain already offered the client, a personal message
/// (POST /clients/{id}/messages' path) and "mark handled" (the API's path: handled before the next session = caught).
/// A coach sees their own alerts, an org admin every coach's.
/// </summary>
public sealed class AlertsModel(GrainRuntime runtime) : WebPageModel(runtime)
{
    public sealed record Item(CoachState Coach, CoachAlert Alert, ClientLoopState? Client)
    {
        public bool Caught => Alert.HandledAt is { } h && h <= Alert.NextSessionAt;

        /// <summary>The slot-offer touch the client's loop sent for this escalation, if it went out yet.</summary>
        public TouchRecord? OfferTouch => Client?.Touches.FirstOrDefault(t => t.Id == "offer-" + Alert.EscalationId);
    }

    public IReadOnlyList<Item> Open { get; private set; } = [];
    public IReadOnlyList<Item> Handled { get; private set; } = [];

    [BindProperty(SupportsGet = true)]
    public string? Notice { get; set; }

    /// <summary>The alert whose form came back with messages, its errors and what was typed.</summary>
    public string? FailedAlert { get; private set; }
    public FieldErrors Errors { get; private set; } = new();
    public string? TypedText { get; private set; }

    public async Task OnGetAsync(CancellationToken ct) => await LoadAsync(ct);

    public async Task<IActionResult> OnPostHandleAsync(string? coachId, string? alertId, string? note, CancellationToken ct)
    {
        var v = new Validation();
        var words = v.Text(note, "note", CoachesApi.MaxHandledNoteLength, required: false);
        if (!v.IsValid) return await InvalidAsync(alertId, FieldErrors.From(v.Errors()), null, ct);
        var call = await CoachesApi.HandleAsync(Runtime, HttpContext, coachId ?? "", alertId ?? "", words, ct);
        if (call is not GrainCall<CoachState>.Ok)
        {
            await LoadAsync(ct);
            return Missing("alert");
        }
        return LocalRedirect("/coach/alerts?notice=handled");
    }

    public async Task<IActionResult> OnPostMessageAsync(string? coachId, string? alertId, string? clientId, string? text, string? channel, string? requestId,
        bool alsoHandle, CancellationToken ct)
    {
        // The client must be one the caller may write to, exactly as for the API: checked in the turn, and before it
        // only to answer an invalid form (strangers learn nothing from validation).
        async Task<IActionResult> MissingClientAsync()
        {
            await LoadAsync(ct);
            return Missing("client");
        }
        if (clientId is null) return await MissingClientAsync();
        var v = new Validation();
        var message = MessagesApi.Parse(v, text, channel, requestId);
        if (!v.IsValid)
            return await ClientsApi.FindAsync(Runtime, HttpContext, clientId, ct) is null
                ? await MissingClientAsync()
                : await InvalidAsync(alertId, FieldErrors.From(v.Errors()), text, ct);
        if (await ClientsApi.CallAsync(Runtime, HttpContext, clientId, message!, ct) is not { } call) return await MissingClientAsync();
        if (call is GrainCall<ClientLoopState>.Rejected rejected)
        {
            var errors = new FieldErrors();
            errors.Add("text", rejected.Detail);
            return await InvalidAsync(alertId, errors, text, ct);
        }
        if (alsoHandle) await CoachesApi.HandleAsync(Runtime, HttpContext, coachId ?? "", alertId ?? "", "sent a personal message", ct);
        return LocalRedirect(alsoHandle ? "/coach/alerts?notice=sent-handled" : "/coach/alerts?notice=sent");
    }

    public string? NoticeText => Notice switch
    {
        "handled" => "Marked handled. Handled before the client's next session, it counts toward your catch rate.",
        "sent" => "Message queued. It goes out through the outbox (SMS and email wait for the end of the client's quiet hours).",
        "sent-handled" => "Message queued and the alert marked handled.",
        _ => null,
    };

    /// <summary>A new request id for each message form, so a double click sends one message.</summary>
    public static string NewRequestId() => Ids.New("m");

    private async Task<IActionResult> InvalidAsync(string? alertId, FieldErrors errors, string? text, CancellationToken ct)
    {
        await LoadAsync(ct);
        FailedAlert = alertId;
        Errors = errors;
        TypedText = text;
        return Page();
    }

    private async Task LoadAsync(CancellationToken ct)
    {
        await LoadHeaderAsync(ct);
        // A coach lists only themselves (as GET /coaches does); each coach is then read through the API's lookup.
        var rows = await Runtime.Store.QueryGrainsAsync(new GrainQuery(OrgId, CoachDecider.GrainType)
        {
            Keys = Access.CoachOf(User) is { } me ? [me] : null,
        }, ct);
        var items = new List<Item>();
        var clients = new Dictionary<string, ClientLoopState?>();
        foreach (var row in rows)
        {
            if (await CoachesApi.FindAsync(Runtime, HttpContext, row.Id.Key, ct) is not { } coach) continue;
            foreach (var alert in coach.Alerts)
            {
                if (!clients.TryGetValue(alert.ClientId, out var client))
                    clients[alert.ClientId] = client = await ClientsApi.FindAsync(Runtime, HttpContext, alert.ClientId, ct);
                items.Add(new Item(coach, alert, client));
            }
        }
        Open = items.Where(i => i.Alert.HandledAt is null).OrderBy(i => i.Alert.NextSessionAt).ThenBy(i => i.Alert.RaisedAt).ToList();
        Handled = items.Where(i => i.Alert.HandledAt is not null).OrderByDescending(i => i.Alert.HandledAt).Take(20).ToList();
    }

    /// <summary>The channels a message to this client can go by, the first one reachable preselected.</summary>
    public static IReadOnlyList<(string Value, string Label, bool Reachable)> Channels(ClientLoopState? c) =>
    [
        ("sms", "Text message", c is { Profile.Phone: not null, Consent: { SmsOptIn: true, SmsOptedOut: false } }),
        ("email", "Email", c is { Profile.Email: not null, Consent.EmailUnsubscribed: false }),
        ("inapp", "Portal only", true),
    ];

    public static string ChannelWord(Channel channel) => channel switch
    {
        Channel.Sms => "by text",
        Channel.Email => "by email",
        _ => "in the portal",
    };
}
