using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CohortGrains.Host.Tests.Infrastructure;

/// <summary>Every log entry the host writes, at every level, with its structured values and scopes, for assertions.</summary>
public sealed class LogCapture : ILoggerProvider, ISupportExternalScope
{
    private readonly ConcurrentQueue<Entry> _entries = new();
    private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

    public sealed record Entry(string Category, LogLevel Level, string Message, string? Exception,
        IReadOnlyDictionary<string, string?> Values, IReadOnlyList<string> Scopes)
    {
        /// <summary>Everything a sink could print for this entry, as one string.</summary>
        public string AllText => string.Join('\n', [Message, Exception ?? "", .. Values.Select(v => $"{v.Key}={v.Value}"), .. Scopes]);

        public string? Value(string key) => Values.GetValueOrDefault(key) ?? ScopeValue(key);

        private string? ScopeValue(string key) =>
            Scopes.Select(s => s.Split('\n')).SelectMany(l => l).Where(l => l.StartsWith(key + "=", StringComparison.Ordinal))
                .Select(l => l[(key.Length + 1)..]).FirstOrDefault();
    }

    public IReadOnlyList<Entry> Entries => [.. _entries];

    public IReadOnlyList<Entry> From<T>() => Entries.Where(e => e.Category == typeof(T).FullName).ToList();

    /// <summary>Registers the capture for every category at every level, whatever Logging:LogLevel says.</summary>
    public void Attach(IServiceCollection services)
    {
        services.AddSingleton<ILoggerProvider>(this);
        services.AddLogging(b => b.AddFilter<LogCapture>(null, LogLevel.Trace));
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

    public void Dispose()
    {
    }

    private sealed class Logger(LogCapture capture, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => capture._scopes.Push(state);

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var values = new Dictionary<string, string?>();
            if (state is IEnumerable<KeyValuePair<string, object?>> pairs)
                foreach (var (k, v) in pairs) values[k] = v?.ToString();
            var scopes = new List<string>();
            capture._scopes.ForEachScope((scope, list) =>
            {
                list.Add(scope is IEnumerable<KeyValuePair<string, object?>> kv
                    ? string.Join('\n', kv.Select(p => $"{p.Key}={p.Value}"))
                    : scope?.ToString() ?? "");
            }, scopes);
            capture._entries.Enqueue(new Entry(category, logLevel, formatter(state, exception), exception?.ToString(), values, scopes));
        }
    }
}
