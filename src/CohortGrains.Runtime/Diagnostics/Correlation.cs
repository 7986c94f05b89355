using System.Collections;
using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace CohortGrains.Runtime.Diagnostics;

/// <summary>
/// The correlation id of the work in progress: an HTTP request's (from X-Correlation-Id, or generated), or one per
/// worker turn or send. It flows with async calls, so a turn failure deep in the runtime can name the request that
/// caused it, and every log line written inside <see cref="Begin"/> carries it as the CorrelationId scope value.
/// </summary>
public static class Correlation
{
    public const int MaxLength = 64;
    private static readonly AsyncLocal<string?> s_current = new();

    public static string? Current => s_current.Value;

    /// <summary>The current trace id when there is an Activity (so logs line up with traces), else 16 random hex digits.</summary>
    public static string NewId() =>
        Activity.Current is { } activity && activity.TraceId != default
            ? activity.TraceId.ToHexString()
            : Convert.ToHexStringLower(Guid.NewGuid().ToByteArray().AsSpan(0, 8));

    /// <summary>
    /// Accepts an incoming id only if it is short and plain (letters, digits, - _ . :), so a caller cannot inject
    /// line breaks or megabytes into our logs; anything else is replaced by a new id.
    /// </summary>
    public static bool IsAcceptable(string? id) =>
        id is { Length: > 0 and <= MaxLength } && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':');

    /// <summary>Makes <paramref name="id"/> current and opens a logging scope with it until disposed.</summary>
    public static IDisposable Begin(ILogger logger, string id)
    {
        var previous = s_current.Value;
        s_current.Value = id;
        return new Restore(previous, logger.BeginScope(new Scope(id)));
    }

    /// <summary>Begins a fresh id unless one is already current (a turn run from an HTTP request keeps the request's).</summary>
    public static IDisposable? BeginIfNone(ILogger logger) => Current is null ? Begin(logger, NewId()) : null;

    private sealed class Restore(string? previous, IDisposable? scope) : IDisposable
    {
        public void Dispose()
        {
            scope?.Dispose();
            s_current.Value = previous;
        }
    }

    /// <summary>A scope the JSON console writes as {"CorrelationId": "…"} and the simple console as "CorrelationId:…".</summary>
    private sealed class Scope(string id) : IReadOnlyList<KeyValuePair<string, object?>>
    {
        public KeyValuePair<string, object?> this[int index] =>
            index == 0 ? new("CorrelationId", id) : throw new ArgumentOutOfRangeException(nameof(index));

        public int Count => 1;

        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
        {
            yield return this[0];
        }

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

        public override string ToString() => $"CorrelationId:{id}";
    }
}
