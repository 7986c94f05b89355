using CohortGrains.Domain.Common;
using CohortGrains.Runtime;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace CohortGrains.Host.Infrastructure;

/// <summary>RFC 7807 problem details for every error the API returns.</summary>
public static class Problems
{
    public static ProblemHttpResult NotFound(string what) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: what);

    /// <summary>The caller is known but may not do this (a coach adding coaches, a client pausing their own loop).</summary>
    public static ProblemHttpResult Forbidden(string detail) =>
        TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Forbidden", detail: detail);

    public static ProblemHttpResult Conflict(string detail) =>
        TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Conflict", detail: detail);

    public static ValidationProblem Invalid(string field, string message) =>
        TypedResults.ValidationProblem(new Dictionary<string, string[]> { [field] = [message] });

    /// <summary>Maps a grain's refusal to 400/404/409. <paramref name="field"/> names the input a domain "invalid" concerns.</summary>
    public static IResult FromRejection(string code, string detail, string field = "body") => code switch
    {
        Rejection.NotFound => NotFound(detail),
        Rejection.Conflict => Conflict(detail),
        _ => Invalid(field, detail),
    };

    public static IResult FromRejection<T>(GrainCall<T>.Rejected r, string field = "body") where T : class => FromRejection(r.Code, r.Detail, field);
}

/// <summary>
/// Malformed JSON, wrong types and unreadable bodies become 400 problem details naming what was wrong — never a 500.
/// Anything else is a 500 problem without internals.
/// </summary>
public sealed class BadRequestExceptionHandler(IProblemDetailsService problems, ILogger<BadRequestExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken ct)
    {
        var (status, title, detail) = exception switch
        {
            BadHttpRequestException { InnerException: System.Text.Json.JsonException json } =>
                (400, "Invalid JSON", json.Path is { Length: > 0 } p ? $"{json.Message.Split(" Path:")[0]} (at {p})" : "The request body is not valid JSON for this endpoint."),
            BadHttpRequestException b => (b.StatusCode, "Bad request", b.Message),
            // The database is restarting or unreachable: nothing was written (the turn rolled back), so retrying is safe.
            System.Data.Common.DbException or TimeoutException => (503, "Store unavailable", "The database did not answer; nothing was changed. Retry shortly."),
            _ => (500, "Internal error", "Something went wrong on our side; it has been logged."),
        };
        if (status >= 500) logger.LogError(exception, "Unhandled error on {Path}", context.Request.Path);
        if (status == 503) context.Response.Headers.RetryAfter = "5";
        context.Response.StatusCode = status;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            Exception = exception,
            ProblemDetails = new ProblemDetails { Status = status, Title = title, Detail = detail },
        });
    }
}

/// <summary>Collects field errors for one request and answers 400 with all of them at once.</summary>
public sealed class Validation
{
    private readonly Dictionary<string, List<string>> _errors = new();

    public bool IsValid => _errors.Count == 0;

    public Validation Add(string field, string message)
    {
        if (!_errors.TryGetValue(field, out var list)) _errors[field] = list = [];
        list.Add(message);
        return this;
    }

    public Validation Check(bool ok, string field, string message) => ok ? this : Add(field, message);

    /// <summary>Required, trimmed, at most <paramref name="max"/> characters, no control characters.</summary>
    public string? Text(string? value, string field, int max, bool required = true)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            if (required) Add(field, "is required");
            return null;
        }
        var trimmed = value.Trim();
        if (trimmed.Length > max) Add(field, $"must be at most {max} characters");
        else if (trimmed.Any(c => char.IsControl(c) && c is not ('\n' or '\r' or '\t'))) Add(field, "must not contain control characters");
        return trimmed;
    }

    /// <summary>The field errors so far, for reports that gather several validations (one per imported row).</summary>
    public IReadOnlyDictionary<string, string[]> Errors() => _errors.ToDictionary(e => e.Key, e => e.Value.ToArray());

    public ValidationProblem Problem() =>
        TypedResults.ValidationProblem(_errors.ToDictionary(e => e.Key, e => e.Value.ToArray()));
}
