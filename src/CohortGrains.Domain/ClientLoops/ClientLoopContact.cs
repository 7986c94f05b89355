using System.Globalization;
using CohortGrains.Domain.Common;
using CohortGrains.Domain.Programs;

namespace CohortGrains.Domain.ClientLoops;

/// <summary>
/// Contact the people around the loop ask for: a personal message from the coach, and the client's own choice of
/// quiet hours and preferred hour.
/// </summary>
public static partial class ClientLoopDecider
{
    public const int MaxCoachMessageLength = 1000;
    public const string CoachMessageTemplate = "coach-message";

    /// <summary>The touch id of a coach's message: "msg-" and the sender's id for it.</summary>
    public static string CoachMessageTouchId(string messageId) => "msg-" + messageId;

    private static Decision<ClientLoopState> OnCoachMessage(ClientLoopState s, CoachMessageSent m, DateTimeOffset now)
    {
        if (string.IsNullOrEmpty(m.MessageId) || m.MessageId.Length > 40 || !m.MessageId.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            return Decision<ClientLoopState>.Reject(Rejection.Invalid, "a message id is 1 to 40 letters, digits, '-' or '_'");
        var touchId = CoachMessageTouchId(m.MessageId);
        // A double submit, or a retry after a lost answer: the message already went into the outbox once.
        if (s.Touches.Any(t => t.Id == touchId)) return Decision<ClientLoopState>.Unchanged(s);
        if (s.Status == ClientStatus.Done) return Decision<ClientLoopState>.Reject(Rejection.Conflict, "the client's program has ended");
        var text = m.Text?.Trim();
        if (string.IsNullOrEmpty(text)) return Decision<ClientLoopState>.Reject(Rejection.Invalid, "a message needs some text");
        if (text.Length > MaxCoachMessageLength)
            return Decision<ClientLoopState>.Reject(Rejection.Invalid, $"a message is at most {MaxCoachMessageLength} characters");

        var (channel, recipient) = ChooseChannel(s, m.Channel ?? Channel.Sms);
        // Signed, so an SMS from a shared sender number says who wrote it.
        var body = $"{text}\n— {s.CoachName}";
        var touch = new Touch(touchId, channel, recipient, channel == Channel.Email ? $"A message from {s.CoachName}" : null, body, CoachMessageTemplate, null);
        var record = new TouchRecord(touchId, s.CurrentSession?.Number ?? 0, CoachMessageTemplate, channel, now, body, IsPrompt: false, CountsTowardCap: false);
        return Decision<ClientLoopState>.Accept(s with { Touches = s.Touches.Add(record) }, [new SendTouch(touch)]);
    }

    /// <summary>
    /// New quiet hours (never less than 21:00–08:00, the TCPA floor) and/or preferred hour. The current session's touches
    /// not sent yet are planned again with them; later sessions plan with them anyway.
    /// </summary>
    private static Decision<ClientLoopState> OnPreferences(ClientLoopState s, ContactPreferencesChanged m, DateTimeOffset now)
    {
        if (m.PreferredHour is < 0 or > 23) return Decision<ClientLoopState>.Reject(Rejection.Invalid, "the preferred hour must be between 0 and 23");
        var quiet = m.QuietHours ?? s.QuietHours;
        if (!(quiet.Contains(new TimeOnly(21, 0)) && quiet.Contains(new TimeOnly(7, 59))))
            return Decision<ClientLoopState>.Reject(Rejection.Invalid, "quiet hours must cover at least 21:00–08:00");
        var hour = m.PreferredHour ?? s.Profile.PreferredHour;
        if (quiet.Contains(new TimeOnly(hour, 0)))
            return Decision<ClientLoopState>.Reject(Rejection.Invalid,
                $"the preferred hour {hour.ToString("00", CultureInfo.InvariantCulture)}:00 falls in the quiet hours");

        var profile = s.Profile with { QuietHours = m.QuietHours ?? s.Profile.QuietHours, PreferredHour = hour };
        if (profile == s.Profile) return Decision<ClientLoopState>.Unchanged(s);
        var next = s with { Profile = profile };

        var effects = new List<Effect>();
        if (next.CurrentSession is { } session)
        {
            var prefix = $"touch:{session.Number}:";
            foreach (var name in next.Reminders.Where(r => r.StartsWith(prefix, StringComparison.Ordinal)).ToList())
            {
                var tp = next.Program.Cadence.FirstOrDefault(t => t.Key == name[prefix.Length..]);
                // The same name reschedules the reminder; a touch that no longer fits before the next session is dropped.
                if (tp is not null && PlanTouch(next, session, tp, now) is { } due) effects.Add(new ScheduleReminder(name, due));
                else
                {
                    effects.Add(new CancelReminder(name));
                    next = next with { Reminders = next.Reminders.Remove(name) };
                }
            }
        }
        return Decision<ClientLoopState>.Accept(next, effects);
    }
}
