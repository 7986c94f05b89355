using System.Collections.Immutable;
using CohortGrains.Domain.ClientLoops;
using CohortGrains.Host.Clients;
using CohortGrains.Host.Infrastructure;
using CohortGrains.Host.Observability;
using CohortGrains.Host.Reflections;
using CohortGrains.Runtime;

namespace CohortGrains.Host.Programs;

public sealed record FeedbackRequest(Dictionary<string, string?>? Answers, string? Channel);

public sealed record AnswerView(string Key, string Question, string Text);

public sealed record FeedbackView(string Kind, DateTimeOffset At, string Channel, IReadOnlyList<AnswerView> Answers)
{
    public static FeedbackView From(FeedbackRecord f)
    {
        var questions = ProgramArc.Questions(f.Kind);
        return new(f.Kind.Wire(), f.At, f.Channel.ToString().ToLowerInvariant(),
            f.Answers.Select(a => new AnswerView(a.Key, questions.First(q => q.Key == a.Key).Text, a.Text)).ToList());
    }
}

public sealed record QuestionView(string Key, string Text);
public sealed record ArcQuestionsResponse(IReadOnlyList<QuestionView> Midpoint, IReadOnlyList<QuestionView> Closing);

public sealed record SessionSummary(int Number, DateTimeOffset OccurredAt, bool Group, IReadOnlyList<ActionItemView> ActionItems, double? AverageRating,
    IReadOnlyList<ReflectionView> Reflections);

/// <summary>The client's program summary: progress over the sessions, reflections, and the midpoint and closing answers.</summary>
public sealed record ProgramSummary(
    string ClientId,
    string Name,
    string CoachName,
    string Status,
    bool EndedEarly,
    DateTimeOffset EnrolledAt,
    int SessionsHeld,
    int SessionsPlanned,
    int ActionsTotal,
    int ActionsDone,
    double? ActionCompletionRate,
    int CheckInsSent,
    int CheckInsAnswered,
    double? ReplyRate,
    IReadOnlyList<SessionSummary> Sessions,
    FeedbackView? Midpoint,
    FeedbackView? Closing);

public sealed record MidpointAnswer(string ClientId, string Name, string Text, DateTimeOffset At);
public sealed record MidpointQuestionSummary(string Key, string Question, IReadOnlyList<MidpointAnswer> Answers);
public sealed record ClientRef(string ClientId, string Name);

/// <summary>What the cohort said at its midpoint: every answer grouped by question, and who has not answered yet.</summary>
public sealed record CohortMidpointSummary(
    string CohortId,
    int? MidpointSession,
    int Clients,
    int Sent,
    int Answered,
    double? ResponseRate,
    IReadOnlyList<MidpointQuestionSummary> Questions,
    IReadOnlyList<ClientRef> NotAnswered);

/// <summary>The program arc over HTTP: the midpoint check and closing reflection answers, the client's summary, the cohort's midpoint.</summary>
public static class ProgramArcApi
{
    public static RouteGroupBuilder MapProgramArc(this RouteGroupBuilder api)
    {
        // The same questions for everyone (no data): clients answering them in the portal may read them too.
        api.MapGet("/program-arc/questions", () => TypedResults.Ok(new ArcQuestionsResponse(
                ProgramArc.MidpointQuestions.Select(q => new QuestionView(q.Key, q.Text)).ToList(),
                ProgramArc.ClosingQuestions.Select(q => new QuestionView(q.Key, q.Text)).ToList())))
            .RequireAuthorization(Policies.OrgMemberOrClient).WithName("GetProgramArcQuestions");
        // The client's answers and summary are theirs (their link), their coach's and the org's admins'.
        var clients = api.MapGroup("/clients/{clientId}").RequireAuthorization(Policies.OrgMemberOrClient);
        clients.MapPost("/feedback/midpoint", (string clientId, FeedbackRequest? body, HttpContext http, GrainRuntime rt, CancellationToken ct) =>
            SubmitAsync(clientId, FeedbackKind.Midpoint, body, http, rt, ct)).WithName("SubmitMidpointFeedback").ProducesCommand<FeedbackView>();
        clients.MapPost("/feedback/closing", (string clientId, FeedbackRequest? body, HttpContext http, GrainRuntime rt, CancellationToken ct) =>
            SubmitAsync(clientId, FeedbackKind.Closing, body, http, rt, ct)).WithName("SubmitClosingReflection").ProducesCommand<FeedbackView>();
        clients.MapGet("/summary", SummaryAsync).WithName("GetProgramSummary").Produces<ProgramSummary>().ProducesProblem(StatusCodes.Status404NotFound);
        // Every client's answers side by side: staff only, the cohort's coach or an org admin.
        api.MapGet("/cohorts/{cohortId}/midpoint", CohortMidpointAsync).RequireAuthorization(Policies.OrgMember).WithName("GetCohortMidpointSummary")
            .Produces<CohortMidpointSummary>().ProducesProblem(StatusCodes.Status404NotFound);
        return api;
    }

    private static async Task<IResult> SubmitAsync(string clientId, FeedbackKind kind, FeedbackRequest? body, HttpContext http, GrainRuntime runtime, CancellationToken ct)
    {
        var v = new Validation();
        var channel = ArcHttp.Channel(v, body?.Channel);
        var questions = ProgramArc.Questions(kind);
        var answers = ImmutableList.CreateBuilder<ArcAnswer>();
        if (body?.Answers is not { Count: > 0 })
            v.Add("answers", $"is required: answers by question ({string.Join(", ", questions.Select(q => q.Key))})");
        else
        {
            foreach (var (key, value) in body.Answers)
            {
                var field = $"answers.{key}";
                if (!questions.Any(q => q.Key == key))
                {
                    v.Add(Ids.LooksValid(key) ? field : "answers", $"is not a {kind.Wire()} question (use {string.Join(", ", questions.Select(q => q.Key))})");
                    continue;
                }
                if (v.Text(value, field, ProgramArc.MaxAnswerLength, required: false) is { } text) answers.Add(new ArcAnswer(key, text));
            }
            if (v.IsValid && answers.Count == 0) v.Add("answers", "answer at least one question");
        }
        if (!v.IsValid) return await ClientsApi.InvalidAsync(runtime, http, clientId, v, ct);

        var call = await ClientsApi.CallAsync(runtime, http, clientId, new FeedbackSubmitted(kind, answers.ToImmutable(), channel!.Value), ct);
        if (call is not GrainCall<ClientLoopState>.Ok ok) return ClientsApi.Problem(call, clientId, "answers");
        return TypedResults.Ok(FeedbackView.From(ok.State.Feedback.Single(f => f.Kind == kind)));
    }

    private static async Task<IResult> SummaryAsync(string clientId, HttpContext http, GrainRuntime runtime, CancellationToken ct)
    {
        var s = await ArcHttp.ClientAsync(runtime, http, clientId, ct);
        return s is null ? ArcHttp.ClientNotFound(clientId) : TypedResults.Ok(Summarize(s));
    }

    public static ProgramSummary Summarize(ClientLoopState s)
    {
        var prompts = s.Touches.Where(t => t.IsPrompt && t.SkippedBecause is null).ToList();
        var answered = prompts.Count(p => s.Replies.Any(r => r.PromptId == p.Id));
        var actions = s.AllActions.ToList();
        var sessions = s.Sessions.Select(session =>
        {
            var ratings = s.Replies.Where(r => r.Rating is not null && s.Touches.Any(t => t.Id == r.PromptId && t.Session == session.Number))
                .Select(r => r.Rating!.Value).ToList();
            return new SessionSummary(session.Number, session.OccurredAt, session.GroupSessionId is not null,
                ClientResponse.ToView(session).ActionItems.ToList(), ratings.Count == 0 ? null : Math.Round(ratings.Average(), 2),
                s.Reflections.Where(r => r.Session == session.Number).Select(ReflectionView.From).ToList());
        }).ToList();
        return new ProgramSummary(s.ClientId, s.Profile.Name, s.CoachName, s.Status.ToWire(), s.EndedEarlyAt is not null, s.EnrolledAt,
            s.Sessions.Count, s.Program.TotalSessions, actions.Count, actions.Count(a => a.CompletedAt is not null),
            Rate(actions.Count(a => a.CompletedAt is not null), actions.Count), prompts.Count, answered, Rate(answered, prompts.Count), sessions,
            s.Feedback.FirstOrDefault(f => f.Kind == FeedbackKind.Midpoint) is { } m ? FeedbackView.From(m) : null,
            s.Feedback.FirstOrDefault(f => f.Kind == FeedbackKind.Closing) is { } c ? FeedbackView.From(c) : null);
    }

    private static async Task<IResult> CohortMidpointAsync(string cohortId, HttpContext http, GrainRuntime runtime, CancellationToken ct)
    {
        var orgId = http.User.OrgId();
        var cohort = await ArcHttp.CohortAsync(runtime, http, cohortId, ct);
        if (cohort is null) return ArcHttp.CohortNotFound(cohortId);
        var clients = await ArcHttp.CohortClientsAsync(runtime, orgId, cohortId, ct);
        var answers = clients.Select(c => (Client: c, Feedback: c.Feedback.FirstOrDefault(f => f.Kind == FeedbackKind.Midpoint))).ToList();
        var sent = clients.Count(c => c.Touches.Any(t => t.Id == ProgramArc.Midpoint));
        var answered = answers.Count(a => a.Feedback is not null);
        var questions = ProgramArc.MidpointQuestions.Select(q => new MidpointQuestionSummary(q.Key, q.Text,
            answers.Where(a => a.Feedback is not null)
                .SelectMany(a => a.Feedback!.Answers.Where(x => x.Key == q.Key).Select(x => new MidpointAnswer(a.Client.ClientId, a.Client.Profile.Name, x.Text, a.Feedback.At)))
                .OrderBy(x => x.Name, StringComparer.OrdinalIgnoreCase).ToList())).ToList();
        var notAnswered = answers.Where(a => a.Feedback is null && a.Client.Touches.Any(t => t.Id == ProgramArc.Midpoint))
            .Select(a => new ClientRef(a.Client.ClientId, a.Client.Profile.Name)).OrderBy(c => c.Name, StringComparer.OrdinalIgnoreCase).ToList();
        // The rate is over the clients who were asked; answers given early from the portal still show in the lists.
        var answeredOfSent = answers.Count(a => a.Feedback is not null && a.Client.Touches.Any(t => t.Id == ProgramArc.Midpoint));
        return TypedResults.Ok(new CohortMidpointSummary(cohortId, cohort.Program.MidpointSession, clients.Count, sent, answered, Rate(answeredOfSent, sent),
            questions, notAnswered));
    }

    private static double? Rate(int part, int whole) => whole == 0 ? null : Math.Round((double)part / whole, 4);
}
