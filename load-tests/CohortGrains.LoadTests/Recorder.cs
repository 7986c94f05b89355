using System.Collections.Concurrent;
using System.Diagnostics;

namespace CohortGrains.LoadTests;

/// <summary>Request latencies and outcomes of one phase; thread-safe, percentiles computed at the end.</summary>
public sealed class LatencyRecorder
{
    private readonly ConcurrentBag<double> _ms = [];
    private readonly ConcurrentBag<(double End, double Ms)> _timeline = [];
    private readonly ConcurrentDictionary<string, int> _errors = new();
    private readonly Stopwatch _wall = Stopwatch.StartNew();
    private long _ok;
    private string? _firstError;

    public string? FirstError => _firstError;

    public long Ok => Interlocked.Read(ref _ok);
    public int Errors => _errors.Values.Sum();
    public TimeSpan Elapsed => _wall.Elapsed;
    public IReadOnlyDictionary<string, int> ErrorKinds => _errors;

    public async Task<bool> TimeAsync(Func<Task> call)
    {
        var start = Stopwatch.GetTimestamp();
        try
        {
            await call();
            var ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            _ms.Add(ms);
            _timeline.Add((_wall.Elapsed.TotalSeconds, ms));
            Interlocked.Increment(ref _ok);
            return true;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Kept by kind, not swallowed: the report shows them and the run fails when a scenario expects none.
            var kind = e is CohortGrains.Client.CohortGrainsApiException api ? $"HTTP {api.Status}" : e.GetType().Name;
            _errors.AddOrUpdate(kind, 1, (_, n) => n + 1);
            Interlocked.CompareExchange(ref _firstError, e.Message.Length > 400 ? e.Message[..400] + "…" : e.Message, null);
            return false;
        }
    }

    public void Stop() => _wall.Stop();

    /// <summary>Completed requests per second and their p99 latency (ms), second by second since this recorder started.</summary>
    public IEnumerable<(int Second, int Count, double P99Ms)> PerSecond() =>
        _timeline.GroupBy(t => (int)t.End).OrderBy(g => g.Key)
            .Select(g => (g.Key, g.Count(), Percentile(g.Select(t => t.Ms).Order().ToArray(), 0.99)));

    public Dictionary<string, object?> Summary(string unit = "requests")
    {
        var sorted = _ms.ToArray();
        Array.Sort(sorted);
        return new Dictionary<string, object?>
        {
            [unit] = Ok,
            ["errors"] = Errors,
            ["errorKinds"] = _errors.ToDictionary(e => e.Key, e => e.Value),
            ["firstError"] = _firstError,
            ["seconds"] = Math.Round(Elapsed.TotalSeconds, 2),
            ["perSecond"] = Math.Round(Ok / Math.Max(Elapsed.TotalSeconds, 1e-9), 1),
            ["latencyMs"] = new Dictionary<string, double>
            {
                ["p50"] = Percentile(sorted, 0.50),
                ["p95"] = Percentile(sorted, 0.95),
                ["p99"] = Percentile(sorted, 0.99),
                ["max"] = sorted.Length == 0 ? 0 : Math.Round(sorted[^1], 1),
            },
        };
    }

    public static double Percentile(double[] sorted, double q)
    {
        if (sorted.Length == 0) return 0;
        var i = (int)Math.Ceiling(q * sorted.Length) - 1;
        return Math.Round(sorted[Math.Clamp(i, 0, sorted.Length - 1)], 1);
    }
}

/// <summary>One sample of a run's time series (what the SVG chart draws).</summary>
public sealed record Sample(double T, double Throughput, double LagSeconds, double? RssMb = null, double? DbMb = null);

/// <summary>Runs calls with at most <c>concurrency</c> in flight, stopping at the token.</summary>
public static class Parallel2
{
    public static async Task ForEachAsync<T>(IEnumerable<T> items, int concurrency, Func<T, CancellationToken, Task> body, CancellationToken ct) =>
        await Parallel.ForEachAsync(items, new ParallelOptions { MaxDegreeOfParallelism = concurrency, CancellationToken = ct }, async (x, c) => await body(x, c));
}
