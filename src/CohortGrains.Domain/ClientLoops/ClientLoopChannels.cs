using CohortGrains.Domain.Common;

namespace CohortGrains.Domain.ClientLoops;

/// <summary>
/// What the real channels tell a client's loop: consent given or withdrawn (STOP/START, unsubscribe links, Twilio
/// 21610), and replies that may arrive twice (a provider retrying its webhook, a link clicked again).
/// </summary>
public static partial class ClientLoopDecider
{
    /// <summary>A reply carrying a provider id already recorded changes nothing: webhooks and links are at-least-once.</summary>
    private static Decision<ClientLoopState> OnReplyOnce(ClientLoopState s, CheckInReplied m, DateTimeOffset now)
    {
        if (m.ExternalId is not null && s.Replies.Any(r => r.ExternalId == m.ExternalId)) return Decision<ClientLoopState>.Unchanged(s);
        var decision = OnReply(s, m, now);
        if (m.ExternalId is null || decision.State is not { } next || next.Replies.Count == s.Replies.Count) return decision;
        var tagged = next with { Replies = next.Replies.SetItem(next.Replies.Count - 1, next.Replies[^1] with { ExternalId = m.ExternalId }) };
        return decision with { State = tagged };
    }

    private static Decision<ClientLoopState> OnOptOut(ClientLoopState s, ChannelOptedOut m, DateTimeOffset now) =>
        WithHistory(s, OnConsent(s, m.Channel, optIn: false), new ConsentChange(m.Channel, false, now, m.How ?? "recorded through the API", m.Sender));

    private static Decision<ClientLoopState> OnOptIn(ClientLoopState s, ChannelOptedIn m, DateTimeOffset now) =>
        WithHistory(s, OnConsent(s, m.Channel, optIn: true), new ConsentChange(m.Channel, true, now, m.How ?? "recorded through the API", m.Sender));

    /// <summary>Appends to the consent history only when the consent really changed, so a repeated STOP adds nothing.</summary>
    private static Decision<ClientLoopState> WithHistory(ClientLoopState before, Decision<ClientLoopState> decision, ConsentChange change)
    {
        if (decision.State is not { } next || next.Consent == before.Consent) return decision;
        return decision with { State = next with { Consent = next.Consent with { Changes = next.Consent.Changes.Add(change) } } };
    }

    /// <summary>
    /// Twilio refused an SMS because the number unsubscribed from our sender (21610). That is the client's STOP seen from
    /// the other side: record it as an SMS opt-out for that sender, never retry the SMS, and send the same words by
    /// email (else the portal) as a new touch "{touchId}-email", so the client still hears from us. Redelivery of this
    /// message finds the fallback already there and changes nothing.
    /// </summary>
    private static Decision<ClientLoopState> OnSmsSenderBlocked(ClientLoopState s, SmsSenderBlocked m, DateTimeOffset now)
    {
        var next = s;
        if (!s.Consent.SmsOptedOut)
        {
            var change = new ConsentChange(Channel.Sms, false, now, m.Reason, m.Sender);
            next = s with { Consent = s.Consent with { SmsOptedOut = true, Changes = s.Consent.Changes.Add(change) } };
        }

        var original = next.Touches.FirstOrDefault(t => t.Id == m.TouchId);
        if (original is null || original.Channel != Channel.Sms || original.SkippedBecause is not null)
            return Decision<ClientLoopState>.Accept(next);
        if (next.Touches.Any(t => t.Id == FallbackId(m.TouchId, Channel.Email) || t.Id == FallbackId(m.TouchId, Channel.InApp)))
            return Decision<ClientLoopState>.Accept(next);
        // A paused or finished client gets no new touch; the opt-out is still recorded.
        if (next.Status is ClientStatus.Paused or ClientStatus.Done) return Decision<ClientLoopState>.Accept(next);

        var (channel, recipient) = ChooseChannel(next, Channel.Email);
        var id = FallbackId(m.TouchId, channel);
        var subject = channel == Channel.Email ? FallbackSubject(next, original) : null;
        // The same prompt: a one-tap rating in the email answers the check-in the SMS asked.
        var promptId = original.IsPrompt ? original.Id : null;
        var touch = new Touch(id, channel, recipient, subject, original.Body, original.TouchpointKey, promptId);
        // Not a new prompt and not another touch toward the weekly cap: it is the same message, delivered another way.
        var record = new TouchRecord(id, original.Session, original.TouchpointKey, channel, now, original.Body, false, false);
        return Decision<ClientLoopState>.Accept(next with { Touches = next.Touches.Add(record) }, [new SendTouch(touch)]);
    }

    public static string FallbackId(string touchId, Channel channel) => $"{touchId}-{(channel == Channel.Email ? "email" : "inapp")}";

    private static string FallbackSubject(ClientLoopState s, TouchRecord original) =>
        original.TouchpointKey == "slot-offer"
            ? "Your coach can help"
            : s.Program.Cadence.FirstOrDefault(t => t.Key == original.TouchpointKey) is { } tp
                ? Templates.Subject(tp.Kind, s)
                : "A quick check-in";
}
