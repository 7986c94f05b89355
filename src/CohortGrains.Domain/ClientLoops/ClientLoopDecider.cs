using System.Collections.Immutable;
using System.Globalization;
using CohortGrains.Domain.Coaches;
using CohortGrains.Domain.Common;
using CohortGrains.Domain.Integrations;
using CohortGrains.Domain.Programs;

namespace CohortGrains.Domain.ClientLoops;

/// <summary>
/// The check-in loop of one client, as a pure function: (state, message, now) → (state', effects).
/// Reminder names: "touch:{session}:{touchpointKey}", "silent:{promptId}", "offer:{escalationId}",
/// and the program arc's "arc:welcome", "arc:midpoint", "arc:closing" (see <see cref="ProgramArc"/>).
/// </summary>
public static partial class ClientLoopDecider
{
    public const string GrainType = "ClientLoop";
    public const int MaxActionItems = 3;
    public const string NotEnrolled = "client is not enrolled";

    public static Decision<ClientLoopState> Decide(ClientLoopState? state, ClientLoopMessage message, DateTimeOffset now)
    {
        if (state is null)
            return message is Enroll enroll
                ? OnEnroll(enroll, now)
                : Decision<ClientLoopState>.Reject(Rejection.NotFound, NotEnrolled);
        // An erased client is gone: nothing may write their data again (a late reply, a redelivered message).
        if (state.ErasedAt is not null)
            return message is EraseClient ? Decision<ClientLoopState>.Unchanged(state) : Decision<ClientLoopState>.Reject(Rejection.NotFound, NotEnrolled);

        return message switch
        {
            Enroll => Decision<ClientLoopState>.Reject(Rejection.Conflict, "client is already enrolled"),
            SessionCompleted m => OnSessionCompleted(state, m, now),
            ReminderDue m => OnReminder(state, m, now),
            CheckInReplied m => OnReplyOnce(state, m, now),
            ActionItemCompleted m => OnActionCompleted(state, m, now),
            Paused => OnPaused(state, now),
            Resumed => OnResumed(state, now),
            ChannelOptedOut m => OnOptOut(state, m, now),
            ChannelOptedIn m => OnOptIn(state, m, now),
            SmsSenderBlocked m => OnSmsSenderBlocked(state, m, now),
            ProgramEnded m => OnProgramEnded(state, m, now),
            SlotOffered m => OnSlotOffered(state, m, now),
            EscalationHandled m => OnEscalationHandled(state, m),
            ReflectionSubmitted m => OnReflection(state, m, now),
            FeedbackSubmitted m => OnFeedback(state, m, now),
            EraseClient => ClientErasure.Tombstone(state, now),
            CoachMessageSent m => OnCoachMessage(state, m, now),
            ContactPreferencesChanged m => OnPreferences(state, m, now),
            _ => throw new ArgumentOutOfRangeException(nameof(message), message.GetType().Name),
        };
    }

    private static Decision<ClientLoopState> OnEnroll(Enroll m, DateTimeOffset now)
    {
        // Every touch is planned in this zone at this hour: reject now rather than fail on each later turn.
        if (!Zones.TryFind(m.Profile.TimeZone, out _))
            return Decision<ClientLoopState>.Reject(Rejection.Invalid, $"profile.timeZone '{m.Profile.TimeZone}' is not an IANA time zone");
        if (m.Profile.PreferredHour is < 0 or > 23)
            return Decision<ClientLoopState>.Reject(Rejection.Invalid, "profile.preferredHour must be between 0 and 23");
        var state = new ClientLoopState(
            ClientLoopState.CurrentSchemaVersion, m.ClientId, m.CohortId, m.CoachId, m.CoachName, m.Profile, m.Consent, m.Program,
            ClientStatus.OnTrack, now, "enrolled", now, [], [], [], [], null, []) { Norms = m.Norms };
        // The first message of the program carries the coach's norms, when the coach has set them. Sent in this turn
        // unless it is quiet hours: on launch day thousands enrol at once, and a timer turn each would double the work.
        return state.Norms is null
            ? Decision<ClientLoopState>.Accept(state)
            : OnArcDue(state, ProgramArc.ReminderPrefix + ProgramArc.Welcome, ProgramArc.Welcome, now);
    }

    private static Decision<ClientLoopState> OnSessionCompleted(ClientLoopState s, SessionCompleted m, DateTimeOffset now)
    {
        if (s.Status == ClientStatus.Done) return Decision<ClientLoopState>.Reject(Rejection.Conflict, "the client's program has ended");
        if (m.Items.Count is < 1 or > MaxActionItems)
            return Decision<ClientLoopState>.Reject(Rejection.Invalid, $"a session needs 1 to {MaxActionItems} action items");
        if (m.Items.Any(i => string.IsNullOrWhiteSpace(i.What)))
            return Decision<ClientLoopState>.Reject(Rejection.Invalid, "every action item needs a description");
        if (m.NextSessionAt <= m.OccurredAt)
            return Decision<ClientLoopState>.Reject(Rejection.Invalid, "the next session must be after this one");
        // A scheduler that redelivers its event (timeouts, at-least-once queues) must not log the session twice.
        if (m.SourceEventId is not null && s.Sessions.Any(x => x.SourceEventId == m.SourceEventId)) return Decision<ClientLoopState>.Unchanged(s);
        if (m.GroupSessionId is not null && s.Sessions.Any(x => x.GroupSessionId == m.GroupSessionId)) return Decision<ClientLoopState>.Unchanged(s);

        var number = s.Sessions.Count + 1;
        var items = m.Items.Select((item, i) => new ActionItem($"s{number}-a{i + 1}", item.What.Trim(), item.ByWhen, item.Notice?.Trim())).ToImmutableList();
        var session = new SessionRecord(number, m.OccurredAt, m.NextSessionAt, items, m.Note) { GroupSessionId = m.GroupSessionId, SourceEventId = m.SourceEventId };

        var effects = new List<Effect>();
        // The cycle's touches restart; the program arc's messages (welcome, midpoint, closing) outlive a session.
        var (arc, cycle) = (s.Reminders.Where(ProgramArc.IsArcReminder).ToImmutableList(), s.Reminders.Where(r => !ProgramArc.IsArcReminder(r)));
        effects.AddRange(cycle.Select(r => new CancelReminder(r)));
        var next = s with
        {
            Program = m.Program,
            Sessions = s.Sessions.Add(session),
            OpenPromptId = null,
            Reminders = arc,
            // A session starts a new cycle: whatever the client was, the coach has just seen them.
            Status = ClientStatus.OnTrack,
            StatusSince = now,
            StatusDetail = $"session {number} logged",
            StatusBeforePause = null,
        };
        next = ScheduleCadence(next, now, effects);
        return Decision<ClientLoopState>.Accept(ScheduleArc(next, now, effects), effects);
    }

    /// <summary>Schedules every touchpoint of the current session not sent yet (used after a session and on resume).</summary>
    private static ClientLoopState ScheduleCadence(ClientLoopState s, DateTimeOffset now, List<Effect> effects)
    {
        if (s.CurrentSession is not { } session) return s;
        var reminders = s.Reminders;
        foreach (var tp in s.Program.Cadence)
        {
            if (s.Touches.Any(t => t.Session == session.Number && t.TouchpointKey == tp.Key)) continue;
            if (PlanTouch(s, session, tp, now) is not { } due) continue;
            var name = $"touch:{session.Number}:{tp.Key}";
            effects.Add(new ScheduleReminder(name, due));
            reminders = reminders.Add(name);
        }
        return s with { Reminders = reminders };
    }

    /// <summary>
    /// When a touchpoint is due: the session's local date plus the offset, at the client's preferred hour
    /// in the client's zone, moved out of quiet hours. Null when it would land at or after the next session,
    /// or when it is more than a day overdue (a session logged late should not fire a burst of stale nudges).
    /// </summary>
    public static DateTimeOffset? PlanTouch(ClientLoopState s, SessionRecord session, Touchpoint tp, DateTimeOffset now)
    {
        var zone = Zones.Find(s.Profile.TimeZone);
        var due = PlannedInstant(s, session, tp);
        if (due < now)
        {
            if (now - due > StaleAfter) return null;
            due = Zones.NextAllowed(now, s.QuietHours, zone);
        }
        return due >= session.NextSessionAt ? null : due;
    }

    /// <summary>A touch more than this late is dropped rather than sent: one missed nudge beats a burst of stale ones.</summary>
    public static readonly TimeSpan StaleAfter = TimeSpan.FromHours(24);

    /// <summary>Where the cadence puts a touchpoint: session-local date + offset at the preferred hour, out of quiet hours.</summary>
    private static DateTimeOffset PlannedInstant(ClientLoopState s, SessionRecord session, Touchpoint tp)
    {
        var zone = Zones.Find(s.Profile.TimeZone);
        var sessionDate = DateOnly.FromDateTime(Zones.ToLocal(session.OccurredAt, zone));
        var due = Zones.ToInstant(sessionDate.AddDays(tp.DayOffset), new TimeOnly(s.Profile.PreferredHour, 0), zone);
        return Zones.NextAllowed(due, s.QuietHours, zone);
    }

    private static Decision<ClientLoopState> OnReminder(ClientLoopState s, ReminderDue m, DateTimeOffset now)
    {
        var fired = s with { Reminders = s.Reminders.Remove(m.Name) };
        if (s.Status is ClientStatus.Paused or ClientStatus.Done) return Decision<ClientLoopState>.Unchanged(fired);

        var parts = m.Name.Split(':');
        return parts switch
        {
            ["touch", var session, var key] => OnTouchDue(fired, m.Name, int.Parse(session, CultureInfo.InvariantCulture), key, now),
            ["silent", var promptId] => OnSilenceDue(fired, promptId, now),
            ["offer", var escalationId] => SendSlotOffer(fired, escalationId, now),
            ["arc", var kind] => OnArcDue(fired, m.Name, kind, now),
            _ => Decision<ClientLoopState>.Unchanged(fired),
        };
    }

    private static Decision<ClientLoopState> OnTouchDue(ClientLoopState s, string reminder, int sessionNumber, string key, DateTimeOffset now)
    {
        if (s.CurrentSession is not { } session || session.Number != sessionNumber) return Decision<ClientLoopState>.Unchanged(s);
        if (s.Program.Cadence.FirstOrDefault(t => t.Key == key) is not { } tp) return Decision<ClientLoopState>.Unchanged(s);
        if (s.Touches.Any(t => t.Session == sessionNumber && t.TouchpointKey == key)) return Decision<ClientLoopState>.Unchanged(s);

        // A timer can fire late (backlog, a node down): check quiet hours again at the moment of sending.
        var zone = Zones.Find(s.Profile.TimeZone);
        var allowed = Zones.NextAllowed(now, s.QuietHours, zone);
        // Nor does a touch go out once the next session has started: it would talk about a call already held.
        if (allowed >= session.NextSessionAt) return Decision<ClientLoopState>.Unchanged(s);
        if (allowed > now)
            return Decision<ClientLoopState>.Accept(s with { Reminders = s.Reminders.Add(reminder) }, [new ScheduleReminder(reminder, allowed)]);

        var touchId = $"s{sessionNumber}-{key}";
        // The same rule as for a session logged late: a timer that fires more than a day after its planned time
        // (the cluster was down) drops its touch, recorded as skipped so the coach sees it.
        if (now - PlannedInstant(s, session, tp) > StaleAfter)
        {
            var stale = new TouchRecord(touchId, sessionNumber, key, tp.Channel, now, "", tp.AsksForReply, true,
                "more than a day late: dropped rather than sent stale") { TemplateVersion = tp.TemplateVersion };
            return Decision<ClientLoopState>.Accept(s with { Touches = s.Touches.Add(stale) });
        }
        var sentThisWeek = s.Touches.Count(t => t.SkippedBecause is null && t.CountsTowardCap && t.At > now.AddDays(-7));
        if (sentThisWeek >= s.Program.WeeklyCap)
        {
            var skipped = new TouchRecord(touchId, sessionNumber, key, tp.Channel, now, "", tp.AsksForReply, true,
                $"weekly cap of {s.Program.WeeklyCap} touches reached") { TemplateVersion = tp.TemplateVersion };
            return Decision<ClientLoopState>.Accept(s with { Touches = s.Touches.Add(skipped) });
        }

        var body = Templates.Render(tp.Template ?? Templates.Default(tp.Kind), s);
        var (channel, recipient) = ChooseChannel(s, tp.Channel);
        // A reply to the prep email is the client's reflection on the session (the inbound email path files it so).
        if (tp.Kind == TouchKind.Prep && channel == Channel.Email) body += Templates.Render(Templates.PrepReflectionInvite, s);
        var promptId = tp.AsksForReply ? touchId : null;
        var touch = new Touch(touchId, channel, recipient, channel == Channel.Email ? Templates.Subject(tp.Kind, s) : null, body, key, promptId);
        var record = new TouchRecord(touchId, sessionNumber, key, channel, now, body, tp.AsksForReply, true) { TemplateVersion = tp.TemplateVersion };

        var effects = new List<Effect> { new SendTouch(touch) };
        var next = s with { Touches = s.Touches.Add(record), OpenPromptId = promptId ?? s.OpenPromptId };
        if (tp.Kind == TouchKind.ProgressCheck)
        {
            var silent = $"silent:{touchId}";
            effects.Add(new ScheduleReminder(silent, now.AddHours(s.Program.SilentAfterHours)));
            next = next with { Reminders = next.Reminders.Add(silent) };
        }
        return Decision<ClientLoopState>.Accept(next, effects);
    }

    /// <summary>The touchpoint's channel when the client can be reached on it, else the other of SMS/email, else the portal.</summary>
    public static (Channel Channel, string Recipient) ChooseChannel(ClientLoopState s, Channel preferred)
    {
        bool Reachable(Channel c) => c switch
        {
            Channel.Sms => s.Profile.Phone is not null && s.Consent.SmsOptIn && !s.Consent.SmsOptedOut,
            Channel.Email => s.Profile.Email is not null && !s.Consent.EmailUnsubscribed,
            _ => true,
        };
        Channel[] order = preferred switch
        {
            Channel.Sms => [Channel.Sms, Channel.Email, Channel.InApp],
            Channel.Email => [Channel.Email, Channel.Sms, Channel.InApp],
            _ => [Channel.InApp],
        };
        var channel = order.First(Reachable);
        return (channel, channel switch
        {
            Channel.Sms => s.Profile.Phone!,
            Channel.Email => s.Profile.Email!,
            _ => s.ClientId,
        });
    }

    private static Decision<ClientLoopState> OnSilenceDue(ClientLoopState s, string promptId, DateTimeOffset now)
    {
        var prompt = s.Touches.FirstOrDefault(t => t.Id == promptId);
        if (Answered(s, promptId, prompt?.At)) return Decision<ClientLoopState>.Unchanged(s);
        var detail = prompt is null ? "no reply to the check-in" : $"no reply to the check-in sent {Weekday(prompt.At, s)}";
        var next = s with { Status = ClientStatus.Silent, StatusSince = now, StatusDetail = detail };
        return Escalate(next, EscalationReason.Silent, detail, now);
    }

    /// <summary>
    /// A client who answered a prompt, or replied at all after it was sent (through an older prompt's link,
    /// in the portal), is not silent.
    /// </summary>
    private static bool Answered(ClientLoopState s, string promptId, DateTimeOffset? sentAt) =>
        s.Replies.Any(r => r.PromptId == promptId || (sentAt is { } at && r.At >= at))
        || (sentAt is { } since && (s.Reflections.Any(r => r.At >= since) || s.Feedback.Any(f => f.At >= since)));

    private static Decision<ClientLoopState> OnReply(ClientLoopState s, CheckInReplied m, DateTimeOffset now)
    {
        if (m.Rating is { } r && r is < 1 or > 5) return Decision<ClientLoopState>.Reject(Rejection.Invalid, "rating must be between 1 and 5");
        var parsed = ReplyParser.Parse(m.Text);
        var rating = m.Rating ?? parsed.Rating;
        var text = string.IsNullOrWhiteSpace(m.Text) ? null : m.Text.Trim();
        if (rating is null && text is null) return Decision<ClientLoopState>.Reject(Rejection.Invalid, "a reply needs a rating or some text");

        string? promptId;
        if (m.PromptId is not null)
        {
            // One-tap links carry their prompt: attribute to it even if a newer prompt went out since.
            if (!s.Touches.Any(t => t.Id == m.PromptId && t.IsPrompt && t.SkippedBecause is null))
                return Decision<ClientLoopState>.Reject(Rejection.NotFound, $"prompt '{m.PromptId}' was not sent to this client");
            promptId = m.PromptId;
        }
        else promptId = s.OpenPromptId;

        var stuck = rating is 1 or 2 || (text is not null && parsed.SaysStuck);
        var active = s.Status is not (ClientStatus.Done or ClientStatus.Paused);
        var route = !active ? ReplyRoute.Noted : stuck ? ReplyRoute.Stuck : rating is not null ? ReplyRoute.OnTrack : ReplyRoute.Noted;
        var reply = new ReplyRecord($"r{s.Replies.Count + 1}", promptId, rating, text, m.Channel, now, route);
        var next = s with { Replies = s.Replies.Add(reply) };

        var effects = new List<Effect>
        {
            Event(s, WebhookEvents.CheckinReplied, reply.Id, now, d => d with
            {
                Rating = rating, Text = text, PromptId = promptId, Route = route == ReplyRoute.OnTrack ? "on-track" : route.ToString().ToLowerInvariant(),
            }),
        };
        // Any reply means the client is not silent, whichever prompt it answers: cancel every silence deadline.
        foreach (var silent in next.Reminders.Where(r => r.StartsWith("silent:", StringComparison.Ordinal)).ToList())
        {
            effects.Add(new CancelReminder(silent));
            next = next with { Reminders = next.Reminders.Remove(silent) };
        }

        var when = Weekday(now, s);
        // The words after the rating; a bare "4" adds nothing to "rated 4".
        var said = parsed.Remark is null ? "" : ": " + Text.Quote(parsed.Remark);
        switch (route)
        {
            case ReplyRoute.Stuck:
                var detail = rating is not null ? $"rated {rating} on {when}{said}" : $"said {Text.Quote(text!)} on {when}";
                next = next with { Status = ClientStatus.Stuck, StatusSince = s.Status == ClientStatus.Stuck ? s.StatusSince : now, StatusDetail = detail };
                var escalated = Escalate(next, EscalationReason.Stuck, detail, now);
                return Decision<ClientLoopState>.Accept(escalated.State!, [.. effects, .. escalated.Effects]);
            case ReplyRoute.OnTrack:
                next = next with { Status = ClientStatus.OnTrack, StatusSince = now, StatusDetail = $"rated {rating} on {when}{said}" };
                break;
            case ReplyRoute.Noted when s.Status == ClientStatus.Silent:
                next = next with { Status = ClientStatus.OnTrack, StatusSince = now, StatusDetail = $"replied on {when}{said}" };
                break;
        }
        return Decision<ClientLoopState>.Accept(next, effects);
    }

    /// <summary>Raises an escalation and alerts the coach — once per session cycle while the last one is unhandled.</summary>
    private static Decision<ClientLoopState> Escalate(ClientLoopState s, EscalationReason reason, string detail, DateTimeOffset now)
    {
        var sessionNumber = s.CurrentSession?.Number ?? 0;
        if (s.Escalations.Any(e => e.Session == sessionNumber && e.HandledAt is null && e.Reason == reason))
            return Decision<ClientLoopState>.Accept(s);
        var nextSession = s.CurrentSession?.NextSessionAt ?? now.AddDays(7);
        var escalation = new Escalation($"e{s.Escalations.Count + 1}", sessionNumber, reason, detail, now, nextSession);
        var alert = new ClientEscalated(escalation.Id, s.ClientId, s.Profile.Name, s.CohortId, reason, detail, now, nextSession);
        var published = Event(s, reason == EscalationReason.Stuck ? WebhookEvents.ClientStuck : WebhookEvents.ClientSilent, escalation.Id, now,
            d => d with { Status = s.Status.ToWire(), EscalationId = escalation.Id, Detail = detail });
        return Decision<ClientLoopState>.Accept(s with { Escalations = s.Escalations.Add(escalation) }, [new AlertCoach(s.CoachId, alert), published]);
    }

    private static Decision<ClientLoopState> OnSlotOffered(ClientLoopState s, SlotOffered m, DateTimeOffset now)
    {
        var index = s.Escalations.FindIndex(e => e.Id == m.EscalationId);
        if (index < 0) return Decision<ClientLoopState>.Reject(Rejection.NotFound, $"escalation '{m.EscalationId}' not found");
        var next = s with { Escalations = s.Escalations.SetItem(index, s.Escalations[index] with { SlotOffered = m.SlotStart }) };
        if (s.Status is ClientStatus.Done or ClientStatus.Paused) return Decision<ClientLoopState>.Accept(next);

        var zone = Zones.Find(s.Profile.TimeZone);
        var allowed = Zones.NextAllowed(now, s.QuietHours, zone);
        if (allowed > now)
        {
            var name = $"offer:{m.EscalationId}";
            // A redelivered offer reschedules the same reminder; the list holds each name once.
            if (next.Reminders.Contains(name) || next.Touches.Any(t => t.Id == $"offer-{m.EscalationId}")) return Decision<ClientLoopState>.Accept(next);
            return Decision<ClientLoopState>.Accept(next with { Reminders = next.Reminders.Add(name) }, [new ScheduleReminder(name, allowed)]);
        }
        return SendSlotOffer(next, m.EscalationId, now);
    }

    /// <summary>
    /// Offers the slot the coach reserved. It answers the client's own reply, so it does not count toward the
    /// weekly cap of nudges, but it does respect quiet hours.
    /// </summary>
    private static Decision<ClientLoopState> SendSlotOffer(ClientLoopState s, string escalationId, DateTimeOffset now)
    {
        var escalation = s.Escalations.FirstOrDefault(e => e.Id == escalationId);
        var touchId = $"offer-{escalationId}";
        if (escalation is null || s.Touches.Any(t => t.Id == touchId)) return Decision<ClientLoopState>.Unchanged(s);
        // Quiet hours can hold an offer past its slot (a coach in another zone): never offer a slot already gone.
        var body = escalation.SlotOffered is { } slot && slot > now
            ? Templates.Render(Templates.SlotOffer, s, new Dictionary<string, string> { ["slot"] = Templates.LocalText(slot, s.Profile.TimeZone) })
            : Templates.Render(Templates.SlotNone, s);
        var (channel, recipient) = ChooseChannel(s, Channel.Sms);
        var touch = new Touch(touchId, channel, recipient, channel == Channel.Email ? "Your coach can help" : null, body, "slot-offer", null);
        var record = new TouchRecord(touchId, escalation.Session, "slot-offer", channel, now, body, false, false);
        return Decision<ClientLoopState>.Accept(s with { Touches = s.Touches.Add(record) }, [new SendTouch(touch)]);
    }

    private static Decision<ClientLoopState> OnEscalationHandled(ClientLoopState s, EscalationHandled m)
    {
        var index = s.Escalations.FindIndex(e => e.Id == m.EscalationId);
        if (index < 0) return Decision<ClientLoopState>.Reject(Rejection.NotFound, $"escalation '{m.EscalationId}' not found");
        if (s.Escalations[index].HandledAt is not null) return Decision<ClientLoopState>.Unchanged(s);
        return Decision<ClientLoopState>.Accept(s with { Escalations = s.Escalations.SetItem(index, s.Escalations[index] with { HandledAt = m.HandledAt }) });
    }

    private static Decision<ClientLoopState> OnActionCompleted(ClientLoopState s, ActionItemCompleted m, DateTimeOffset now)
    {
        for (var i = 0; i < s.Sessions.Count; i++)
        {
            var session = s.Sessions[i];
            var j = session.Items.FindIndex(a => a.Id == m.ItemId);
            if (j < 0) continue;
            if (session.Items[j].CompletedAt is not null) return Decision<ClientLoopState>.Unchanged(s);
            var items = session.Items.SetItem(j, session.Items[j] with { CompletedAt = now });
            var completed = Event(s, WebhookEvents.ActionCompleted, m.ItemId, now, d => d with { ItemId = m.ItemId, What = session.Items[j].What });
            return Decision<ClientLoopState>.Accept(s with { Sessions = s.Sessions.SetItem(i, session with { Items = items }) }, [completed]);
        }
        return Decision<ClientLoopState>.Reject(Rejection.NotFound, $"action item '{m.ItemId}' not found");
    }

    private static Decision<ClientLoopState> OnPaused(ClientLoopState s, DateTimeOffset now)
    {
        if (s.Status == ClientStatus.Done) return Decision<ClientLoopState>.Reject(Rejection.Conflict, "the client's program has ended");
        if (s.Status == ClientStatus.Paused) return Decision<ClientLoopState>.Unchanged(s);
        var effects = s.Reminders.Select(r => (Effect)new CancelReminder(r)).ToList();
        return Decision<ClientLoopState>.Accept(
            s with { Status = ClientStatus.Paused, StatusBeforePause = s.Status, StatusSince = now, StatusDetail = "paused", Reminders = [] },
            effects);
    }

    private static Decision<ClientLoopState> OnResumed(ClientLoopState s, DateTimeOffset now)
    {
        if (s.Status != ClientStatus.Paused) return Decision<ClientLoopState>.Unchanged(s);
        var effects = new List<Effect>();
        var next = s with { Status = s.StatusBeforePause ?? ClientStatus.OnTrack, StatusBeforePause = null, StatusSince = now, StatusDetail = "resumed" };
        next = ScheduleCadence(next, now, effects);
        // An unanswered progress check still gets its silence deadline (at the earliest now).
        foreach (var t in next.Touches.Where(t => t.Session == next.CurrentSession?.Number && t.IsPrompt && t.SkippedBecause is null))
        {
            var tp = next.Program.Cadence.FirstOrDefault(c => c.Key == t.TouchpointKey);
            if (tp?.Kind != TouchKind.ProgressCheck || Answered(next, t.Id, t.At)) continue;
            // Its deadline already passed and the coach was told: do not raise it again.
            if (next.Escalations.Any(e => e.Session == t.Session && e.Reason == EscalationReason.Silent)) continue;
            var name = $"silent:{t.Id}";
            var due = t.At.AddHours(next.Program.SilentAfterHours);
            effects.Add(new ScheduleReminder(name, due > now ? due : now));
            next = next with { Reminders = next.Reminders.Add(name) };
        }
        // A slot offer held back by the pause (or by quiet hours just before it) still goes out while the slot is ahead.
        var zone = Zones.Find(next.Profile.TimeZone);
        foreach (var e in next.Escalations.Where(e => e.HandledAt is null && e.SlotOffered > now && !next.Touches.Any(t => t.Id == $"offer-{e.Id}")).ToList())
        {
            var name = $"offer:{e.Id}";
            effects.Add(new ScheduleReminder(name, Zones.NextAllowed(now, next.QuietHours, zone)));
            next = next with { Reminders = next.Reminders.Add(name) };
        }
        // The program arc's messages held back by the pause go out now (quiet hours permitting).
        next = ScheduleArc(next, now, effects);
        return Decision<ClientLoopState>.Accept(next, effects);
    }

    private static Decision<ClientLoopState> OnConsent(ClientLoopState s, Channel channel, bool optIn)
    {
        var consent = (channel, optIn) switch
        {
            (Channel.Sms, false) => s.Consent with { SmsOptedOut = true },
            // START/UNSTOP is itself an opt-in recorded from the client.
            (Channel.Sms, true) => s.Consent with { SmsOptedOut = false, SmsOptIn = true },
            (Channel.Email, false) => s.Consent with { EmailUnsubscribed = true },
            (Channel.Email, true) => s.Consent with { EmailUnsubscribed = false },
            _ => null,
        };
        return consent is null
            ? Decision<ClientLoopState>.Reject(Rejection.Invalid, "only SMS and email consent can change")
            : Decision<ClientLoopState>.Accept(s with { Consent = consent });
    }

    private static Decision<ClientLoopState> OnProgramEnded(ClientLoopState s, ProgramEnded m, DateTimeOffset now)
    {
        if (s.Status == ClientStatus.Done) return Decision<ClientLoopState>.Unchanged(s);
        var effects = s.Reminders.Select(r => (Effect)new CancelReminder(r)).ToList();
        return Decision<ClientLoopState>.Accept(
            s with
            {
                Status = ClientStatus.Done, StatusSince = now, StatusDetail = m.Reason, OpenPromptId = null, Reminders = [], StatusBeforePause = null,
                EndedEarlyAt = m.Early ? now : null,
            },
            effects);
    }

    // ---- the program arc: welcome, midpoint check, closing reflection, reflections ----

    /// <summary>The arc messages whose moment has come and that were not sent yet (welcome, midpoint, closing).</summary>
    public static IEnumerable<string> PendingArc(ClientLoopState s)
    {
        bool Sent(string id) => s.Touches.Any(t => t.Id == id);
        if (s.Norms is not null && !Sent(ProgramArc.Welcome)) yield return ProgramArc.Welcome;
        if (s.Program.MidpointSession is { } midpoint && s.Sessions.Count >= midpoint && !Sent(ProgramArc.Midpoint)) yield return ProgramArc.Midpoint;
        if (s.Sessions.Count >= s.Program.TotalSessions && !Sent(ProgramArc.Closing)) yield return ProgramArc.Closing;
    }

    /// <summary>
    /// Schedules each pending arc message not scheduled yet: the welcome at once, the midpoint check the day after its
    /// session, the closing reflection on the last session's day — at the client's hour, out of quiet hours, never in the past.
    /// </summary>
    private static ClientLoopState ScheduleArc(ClientLoopState s, DateTimeOffset now, List<Effect> effects)
    {
        if (s.Status is ClientStatus.Done or ClientStatus.Paused) return s;
        var zone = Zones.Find(s.Profile.TimeZone);
        foreach (var kind in PendingArc(s).ToList())
        {
            var name = ProgramArc.ReminderPrefix + kind;
            if (s.Reminders.Contains(name)) continue;
            var due = now;
            if (kind != ProgramArc.Welcome && s.CurrentSession is { } session)
            {
                var sessionDate = DateOnly.FromDateTime(Zones.ToLocal(session.OccurredAt, zone));
                var planned = Zones.ToInstant(sessionDate.AddDays(kind == ProgramArc.Midpoint ? 1 : 0), new TimeOnly(s.Profile.PreferredHour, 0), zone);
                if (planned > now) due = planned;
            }
            effects.Add(new ScheduleReminder(name, Zones.NextAllowed(due, s.QuietHours, zone)));
            s = s with { Reminders = s.Reminders.Add(name) };
        }
        return s;
    }

    private static Decision<ClientLoopState> OnArcDue(ClientLoopState s, string reminder, string kind, DateTimeOffset now)
    {
        if (!PendingArc(s).Contains(kind)) return Decision<ClientLoopState>.Unchanged(s);
        var zone = Zones.Find(s.Profile.TimeZone);
        var allowed = Zones.NextAllowed(now, s.QuietHours, zone);
        var countsTowardCap = kind != ProgramArc.Welcome;
        if (countsTowardCap && allowed == now)
        {
            // Midpoint and closing are touches like any other: never past the weekly cap. They wait for room
            // (the oldest counted touch leaving the rolling week) instead of being dropped like a nudge.
            var week = s.Touches.Where(t => t.SkippedBecause is null && t.CountsTowardCap && t.At > now.AddDays(-7)).OrderBy(t => t.At).ToList();
            if (week.Count >= s.Program.WeeklyCap) allowed = Zones.NextAllowed(week[week.Count - s.Program.WeeklyCap].At.AddDays(7), s.QuietHours, zone);
        }
        if (allowed > now)
            return Decision<ClientLoopState>.Accept(s with { Reminders = s.Reminders.Add(reminder) }, [new ScheduleReminder(reminder, allowed)]);

        var body = ProgramArc.Body(kind, s);
        // Long text reads better as an email; ChooseChannel falls back to SMS, then the portal.
        var (channel, recipient) = ChooseChannel(s, Channel.Email);
        var touch = new Touch(kind, channel, recipient, channel == Channel.Email ? ProgramArc.Subject(kind) : null, body, kind, null);
        // Not a prompt: a bare SMS "4" must keep going to the open check-in, never to a list of questions.
        var record = new TouchRecord(kind, s.CurrentSession?.Number ?? 0, kind, channel, now, body, false, countsTowardCap) { TemplateVersion = 1 };
        return Decision<ClientLoopState>.Accept(s with { Touches = s.Touches.Add(record) }, [new SendTouch(touch)]);
    }

    private static Decision<ClientLoopState> OnReflection(ClientLoopState s, ReflectionSubmitted m, DateTimeOffset now)
    {
        var text = m.Text?.Trim();
        if (string.IsNullOrEmpty(text)) return Decision<ClientLoopState>.Reject(Rejection.Invalid, "a reflection needs some text");
        if (text.Length > ProgramArc.MaxReflectionLength)
            return Decision<ClientLoopState>.Reject(Rejection.Invalid, $"a reflection is at most {ProgramArc.MaxReflectionLength} characters");
        if (s.Sessions.IsEmpty) return Decision<ClientLoopState>.Reject(Rejection.Conflict, "no session has been logged yet: a reflection is tied to a session");
        int session;
        if (m.Session is { } n)
        {
            if (!s.Sessions.Any(x => x.Number == n)) return Decision<ClientLoopState>.Reject(Rejection.Invalid, $"session {n} was not logged for this client");
            session = n;
        }
        else if (m.ReplyToTouchId is not null)
        {
            // A reply to the Day-6 prep email reflects on the session that email prepared for.
            var touch = s.Touches.FirstOrDefault(t => t.Id == m.ReplyToTouchId && t.SkippedBecause is null);
            if (touch is null) return Decision<ClientLoopState>.Reject(Rejection.NotFound, $"touch '{m.ReplyToTouchId}' was not sent to this client");
            session = touch.Session > 0 ? touch.Session : s.CurrentSession!.Number;
        }
        else session = s.CurrentSession!.Number;

        var reflection = new Reflection($"rf{s.Reflections.Count + 1}", session, text, m.Channel, now, m.ReplyToTouchId);
        return Engaged(s with { Reflections = s.Reflections.Add(reflection) }, now, "wrote a reflection");
    }

    private static Decision<ClientLoopState> OnFeedback(ClientLoopState s, FeedbackSubmitted m, DateTimeOffset now)
    {
        var questions = ProgramArc.Questions(m.Kind);
        var answers = m.Answers.Where(a => !string.IsNullOrWhiteSpace(a.Text)).Select(a => a with { Text = a.Text.Trim() }).ToList();
        if (answers.FirstOrDefault(a => !questions.Any(q => q.Key == a.Key)) is { } unknown)
            return Decision<ClientLoopState>.Reject(Rejection.Invalid, $"'{unknown.Key}' is not a {m.Kind.ToString().ToLowerInvariant()} question");
        if (answers.Count == 0) return Decision<ClientLoopState>.Reject(Rejection.Invalid, "answer at least one question");
        if (answers.GroupBy(a => a.Key).Any(g => g.Count() > 1)) return Decision<ClientLoopState>.Reject(Rejection.Invalid, "each question is answered once");
        if (answers.Any(a => a.Text.Length > ProgramArc.MaxAnswerLength))
            return Decision<ClientLoopState>.Reject(Rejection.Invalid, $"an answer is at most {ProgramArc.MaxAnswerLength} characters");

        // Stored in the questions' order, whatever order they came in; a new submission replaces the last one.
        var ordered = questions.Select(q => answers.FirstOrDefault(a => a.Key == q.Key)).OfType<ArcAnswer>().ToImmutableList();
        var record = new FeedbackRecord(m.Kind, ordered, m.Channel, now);
        var feedback = s.Feedback.RemoveAll(f => f.Kind == m.Kind).Add(record);
        return Engaged(s with { Feedback = feedback }, now, m.Kind == FeedbackKind.Midpoint ? "answered the midpoint check" : "wrote the closing reflection");
    }

    /// <summary>Anything the client writes means they are not silent: clear silence and its deadlines.</summary>
    private static Decision<ClientLoopState> Engaged(ClientLoopState s, DateTimeOffset now, string what)
    {
        var effects = new List<Effect>();
        foreach (var silent in s.Reminders.Where(r => r.StartsWith("silent:", StringComparison.Ordinal)).ToList())
        {
            effects.Add(new CancelReminder(silent));
            s = s with { Reminders = s.Reminders.Remove(silent) };
        }
        if (s.Status == ClientStatus.Silent) s = s with { Status = ClientStatus.OnTrack, StatusSince = now, StatusDetail = $"{what} on {Weekday(now, s)}" };
        return Decision<ClientLoopState>.Accept(s, effects);
    }

    /// <summary>A webhook event about this client; its id is stable for the same fact, so redeliveries deduplicate.</summary>
    private static PublishEvent Event(ClientLoopState s, string type, string sourceId, DateTimeOffset now, Func<ClientEventData, ClientEventData> details) =>
        new(new ClientEvent($"{s.ClientId}.{type}.{sourceId}", type, now, details(new ClientEventData(s.ClientId, s.Profile.Name, s.CohortId, s.CoachId))));

    private static string Weekday(DateTimeOffset at, ClientLoopState s) =>
        Zones.ToLocal(at, Zones.Find(s.Profile.TimeZone)).ToString("ddd", CultureInfo.InvariantCulture);

    /// <summary>Roster order: stuck before silent before late actions before on track.</summary>
    public static int Risk(ClientLoopState s) => s.Status switch
    {
        ClientStatus.Stuck => 30,
        ClientStatus.Silent => 20,
        ClientStatus.OnTrack => 10,
        ClientStatus.Paused => 5,
        _ => 0,
    };

    public static DateTimeOffset? EarliestOpenActionDue(ClientLoopState s)
    {
        var zone = Zones.Find(s.Profile.TimeZone);
        // An action "by Friday" is late once Friday has ended in the client's zone.
        return s.AllActions.Where(a => a.CompletedAt is null && a.ByWhen is not null)
            .Select(a => (DateTimeOffset?)Zones.ToInstant(a.ByWhen!.Value.AddDays(1), TimeOnly.MinValue, zone))
            .Min();
    }
}
