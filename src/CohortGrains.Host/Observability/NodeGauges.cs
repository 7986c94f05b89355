using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Reflection;
using CohortGrains.Runtime.Channels;
using CohortGrains.Runtime.Storage;
using CohortGrains.Runtime.Workers;
using Microsoft.Extensions.Options;

namespace CohortGrains.Host.Observability;

/// <summary>
/// Gauges read at scrape time: the due-timer and outbox backlogs (from the store, shared by every node, so each
/// node reports the same cluster-wide value: aggregate with max, not sum), whether the store answered, and this
/// node's identity and drain state.
/// The store is asked at most once per <see cref="MetricsOptions.StoreCacheDuration"/>: Prometheus servers scraping
/// every node of a cluster must not turn into a query storm on the one database.
/// </summary>
public sealed class NodeGauges
{
    public const string MeterName = "CohortGrains.Node";

    private readonly IGrainStore _store;
    private readonly TimeProvider _clock;
    private readonly ILogger<NodeGauges> _logger;
    private readonly TimeSpan _cacheFor;
    private readonly string[] _channels;
    private readonly SemaphoreSlim _refresh = new(1, 1);
    private volatile Snapshot? _snapshot;
    private long _refreshedAt;

    public NodeGauges(IMeterFactory factory, IGrainStore store, TimeProvider clock, NodeIdentity node, DrainState drain,
        IEnumerable<IChannel> channels, IOptions<MetricsOptions> options, ILogger<NodeGauges> logger)
    {
        _store = store;
        _clock = clock;
        _logger = logger;
        _cacheFor = options.Value.StoreCacheDuration;
        _channels = channels.Select(c => c.Name).Distinct().Order().ToArray();
        var version = Assembly.GetEntryAssembly()?.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
            ?? typeof(NodeGauges).Assembly.GetName().Version?.ToString() ?? "unknown";

        var meter = factory.Create(MeterName);
        meter.CreateObservableGauge("cohortgrains.node.info", () => new Measurement<int>(1,
            new KeyValuePair<string, object?>("node", node.Id), new KeyValuePair<string, object?>("version", version)),
            description: "Always 1; the labels name this node and the version it runs");
        meter.CreateObservableGauge("cohortgrains.node.draining", () => drain.IsDraining ? 1 : 0,
            description: "1 while this node drains (stopping: not ready, finishing its turns)");
        meter.CreateObservableGauge("cohortgrains.store.up", () => _snapshot is { } s ? (s.Ok ? 1 : 0) : 0,
            description: "1 if the store answered the last backlog query, else 0");
        meter.CreateObservableGauge("cohortgrains.timers.due", () => Read(s => s.Timers.Due), "{timer}",
            "Timers (reminders and grain messages) due now and not yet run, cluster-wide");
        meter.CreateObservableGauge("cohortgrains.timers.scheduled", () => Read(s => s.Timers.Total), "{timer}",
            "Timers stored, due or in the future, cluster-wide");
        meter.CreateObservableGauge("cohortgrains.timers.oldest_due_age", () => Read(s => s.Timers.OldestLag.TotalSeconds), "s",
            "How long the oldest due timer has waited, cluster-wide");
        meter.CreateObservableGauge("cohortgrains.outbox.pending", () => PerChannel(b => b.Pending), "{message}",
            "Outbox messages not yet sent or failed (due, or waiting for a retry), by channel, cluster-wide");
        meter.CreateObservableGauge("cohortgrains.outbox.due", () => PerChannel(b => b.Due), "{message}",
            "Outbox messages whose next attempt is due now, by channel, cluster-wide");
        meter.CreateObservableGauge("cohortgrains.outbox.oldest_due_age", () => PerChannel(b => b.OldestDueLag.TotalSeconds), "s",
            "How long the oldest due outbox message has waited, by channel, cluster-wide");
    }

    /// <summary>Called before each scrape: queries the store unless the last answer is fresh enough.</summary>
    public async Task RefreshAsync(CancellationToken ct)
    {
        if (IsFresh()) return;
        await _refresh.WaitAsync(ct);
        try
        {
            if (IsFresh()) return; // another scrape refreshed it while we waited
            var now = _clock.GetUtcNow();
            try
            {
                var timers = await _store.GetTimerBacklogAsync(now, ct);
                var outbox = await _store.GetOutboxBacklogAsync(now, ct);
                _snapshot = new Snapshot(true, timers, outbox.ToDictionary(b => b.Channel));
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                // Keep serving the node's own metrics; store_up = 0 says why the backlog gauges are missing.
                _logger.LogWarning("Metrics could not read the backlog from the store: {Error}", CohortGrains.Runtime.Diagnostics.Redact.Text(e.Message));
                _snapshot = Snapshot.Failed;
            }
            Volatile.Write(ref _refreshedAt, Stopwatch.GetTimestamp());
        }
        finally
        {
            _refresh.Release();
        }
    }

    /// <summary>
    /// The timer backlog as the gauges hold it, read again first if older than the cache window: GET /api/v1/cluster,
    /// which operators poll during a launch, shares the gauges' query (a count over the whole timers table) instead of
    /// running its own on every call. If the store did not answer, it is asked again so the caller gets its error.
    /// </summary>
    public async Task<TimerBacklog> TimerBacklogAsync(CancellationToken ct)
    {
        await RefreshAsync(ct);
        return _snapshot is { Ok: true } s ? s.Timers : await _store.GetTimerBacklogAsync(_clock.GetUtcNow(), ct);
    }

    private bool IsFresh() =>
        _snapshot is not null && _cacheFor > TimeSpan.Zero && Stopwatch.GetElapsedTime(Volatile.Read(ref _refreshedAt)) < _cacheFor;

    private IEnumerable<Measurement<double>> Read(Func<Snapshot, double> value) =>
        _snapshot is { Ok: true } s ? [new Measurement<double>(value(s))] : [];

    /// <summary>Every channel this node can send on is reported, 0 when nothing is pending, so graphs and alerts see a value.</summary>
    private IEnumerable<Measurement<double>> PerChannel(Func<OutboxBacklog, double> value)
    {
        if (_snapshot is not { Ok: true } s) yield break;
        foreach (var channel in _channels.Union(s.Outbox.Keys).Order())
        {
            var backlog = s.Outbox.GetValueOrDefault(channel) ?? new OutboxBacklog(channel, 0, 0, TimeSpan.Zero);
            yield return new Measurement<double>(value(backlog), new KeyValuePair<string, object?>("channel", channel));
        }
    }

    private sealed record Snapshot(bool Ok, TimerBacklog Timers, IReadOnlyDictionary<string, OutboxBacklog> Outbox)
    {
        public static readonly Snapshot Failed = new(false, new TimerBacklog(0, TimeSpan.Zero, 0), new Dictionary<string, OutboxBacklog>());
    }
}
