using System.Collections.Immutable;
using CohortGrains.Domain.Common;

namespace CohortGrains.Domain.ClientLoops;

/// <summary>
/// The right to erasure, for one client's loop: the state becomes a tombstone that keeps ids, times, counts, ratings
/// and statuses (so cohort metrics do not change after the fact) and loses everything that says who the client is or
/// what was said: name, phone, email, zone, action-item wording, the coach's notes, message bodies, reply text,
/// escalation details. Every reminder is cancelled. A new field holding personal data must be blanked here too.
/// </summary>
public static class ClientErasure
{
    public const string ErasedText = "[erased]";

    public static Decision<ClientLoopState> Tombstone(ClientLoopState s, DateTimeOffset now)
    {
        var effects = s.Reminders.Select(r => (Effect)new CancelReminder(r)).ToList();
        var erasedNote = new SessionNote(ErasedText, ErasedText, ErasedText, ErasedText, ErasedText);
        var tombstone = s with
        {
            Profile = new ClientProfile(ErasedText, Phone: null, Email: null, TimeZone: "UTC", PreferredHour: 0),
            Consent = new Consent(SmsOptIn: false),
            Sessions = s.Sessions.Select(session => session with
            {
                Items = session.Items.Select(i => i with { What = ErasedText, Notice = null }).ToImmutableList(),
                Note = erasedNote,
            }).ToImmutableList(),
            Touches = s.Touches.Select(t => t with { Body = "" }).ToImmutableList(),
            Replies = s.Replies.Select(r => r with { Text = null }).ToImmutableList(),
            Escalations = s.Escalations.Select(e => e with { Detail = ErasedText }).ToImmutableList(),
            Status = ClientStatus.Done,
            StatusSince = now,
            StatusDetail = "erased",
            OpenPromptId = null,
            Reminders = [],
            StatusBeforePause = null,
            ErasedAt = now,
        };
        return Decision<ClientLoopState>.Accept(tombstone, effects);
    }
}
